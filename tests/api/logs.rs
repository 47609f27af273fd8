use crate::helpers::{logs, spawn_app};

#[tokio::test]
async fn no_secret_or_token_reaches_the_logs() {
    // Arrange
    let app = spawn_app().await;
    let f = app.fixture().await;
    // Act: a success, a failure with a wrong secret, and a secret sent in the form.
    let (status, body) = app
        .post_token(
            &f.slug,
            Some((&f.client_id, &f.client_secret)),
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!(status, 200);
    let token = body["access_token"].as_str().unwrap().to_owned();
    let wrong = format!("{}-wrong", f.client_secret);
    app.post_token(
        &f.slug,
        Some((&f.client_id, &wrong)),
        &[("grant_type", "client_credentials")],
    )
    .await;
    app.post_token(
        &f.slug,
        None,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &f.client_id),
            ("client_secret", &f.client_secret),
        ],
    )
    .await;
    // Assert
    let logs = logs();
    assert!(
        logs.contains(&f.client_id),
        "the request spans were captured"
    );
    for secret in [&f.client_secret, &token, &wrong, &app.admin_token] {
        assert!(!logs.contains(secret.as_str()), "a secret reached the logs");
    }
    let signature = token.rsplit('.').next().unwrap();
    assert!(!logs.contains(signature));
}
