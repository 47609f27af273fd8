use crate::helpers::{spawn_app, spawn_app_with, StoreKind};

#[tokio::test]
async fn healthz_answers_200_with_a_request_id() {
    // Arrange
    let app = spawn_app().await;
    // Act
    let response = app.http.get(app.url("/healthz")).send().await.unwrap();
    // Assert
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("x-request-id"));
}

#[tokio::test]
async fn readyz_answers_200_while_database_and_redis_answer() {
    let app = spawn_app().await;
    let response = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn readyz_answers_200_on_the_in_process_store() {
    let app = spawn_app_with(StoreKind::Memory).await;
    let response = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(response.status(), 200);
}
