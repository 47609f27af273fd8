//! Two grantd processes' worth of nodes on one database and one Redis: what node 1 revokes is
//! inactive at node 2 on the very next request.
use serde_json::json;

use crate::authorization_code::{code_for, param, redeem, user_fixture, UserFixture};
use crate::helpers::{spawn_two_nodes, TestApp};
use crate::revocation::{cc_token, introspect, revoke_as};

async fn refresh(app: &TestApp, f: &UserFixture, token: &str) -> (u16, serde_json::Value) {
    app.post_token(
        &f.slug,
        None,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", token),
            ("client_id", &f.client_id),
        ],
    )
    .await
}

/// A confidential client that sees tokens for the user fixture's app.
async fn resource_server(app: &TestApp, f: &UserFixture) -> (String, String) {
    let (_, apps) = app
        .admin(
            reqwest::Method::GET,
            &format!("/tenants/{}/apps", f.slug),
            None,
        )
        .await;
    let rs = app
        .create_client(&f.slug, json!({"name": "rs", "type": "confidential", "grant_types": ["client_credentials"], "app_ids": [apps[0]["id"]]}))
        .await;
    (
        rs["client_id"].as_str().unwrap().into(),
        rs["client_secret"].as_str().unwrap().into(),
    )
}

async fn active_at(app: &TestApp, slug: &str, rs: &(String, String), token: &str) -> bool {
    let (status, body) = crate::revocation::introspect_as(app, slug, (&rs.0, &rs.1), token).await;
    assert_eq!(status, 200, "{body}");
    body["active"] == true
}

/// Logs in through node 1 and redeems an app-scoped code with refresh there.
async fn user_tokens(node: &TestApp, f: &UserFixture) -> serde_json::Value {
    let started = crate::authorization_code::start(node, f, &["chat:read"]);
    let url = format!(
        "{}&resource={}",
        started.url,
        url::form_urlencoded::byte_serialize(f.audience.as_bytes()).collect::<String>()
    );
    let query = crate::authorization_code::authorize(node, f, &url, "approve").await;
    let (status, body) = redeem(
        node,
        f,
        param(&query, "code").unwrap(),
        Some(started.verifier.secret()),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test]
async fn a_revoked_token_is_inactive_at_the_other_node_at_once() {
    let (node1, node2) = spawn_two_nodes().await;
    let f = node1.fixture().await;
    let token = cc_token(&node1, &f, None).await;
    assert_eq!(introspect(&node2, &f, &token).await["active"], true);
    assert_eq!(
        revoke_as(&node1, &f.slug, (&f.client_id, &f.client_secret), &token).await,
        200
    );
    assert_eq!(introspect(&node2, &f, &token).await["active"], false);
}

#[tokio::test]
async fn a_bulk_mark_set_at_one_node_holds_at_the_other_at_once() {
    let (node1, node2) = spawn_two_nodes().await;
    let f = node1.fixture().await;
    let token = cc_token(&node1, &f, Some(&f.audience)).await;
    node1
        .post_admin(
            &format!("/tenants/{}/revocations", f.slug),
            json!({"app_id": f.app_id}),
        )
        .await;
    assert_eq!(introspect(&node2, &f, &token).await["active"], false);
}

#[tokio::test]
async fn a_withdrawn_key_is_inactive_at_the_other_node_at_once() {
    let (node1, node2) = spawn_two_nodes().await;
    let f = node1.fixture().await;
    let token = cc_token(&node1, &f, None).await;
    assert_eq!(
        introspect(&node2, &f, &token).await["active"],
        true,
        "node 2 has the key cached"
    );
    node1
        .post_admin(
            &format!("/tenants/{}/keys/rotate", f.slug),
            json!({"compromised": true}),
        )
        .await;
    assert_eq!(introspect(&node2, &f, &token).await["active"], false);
}

#[tokio::test]
async fn a_family_killed_at_one_node_is_dead_at_the_other() {
    let (node1, node2) = spawn_two_nodes().await;
    let f = user_fixture(&node1, &["authorization_code", "refresh_token"]).await;
    let rs = resource_server(&node1, &f).await;
    let first = user_tokens(&node1, &f).await;
    let access = first["access_token"].as_str().unwrap();
    assert!(active_at(&node2, &f.slug, &rs, access).await);
    let old_refresh = first["refresh_token"].as_str().unwrap();
    let (status, rotated) = refresh(&node1, &f, old_refresh).await;
    assert_eq!(status, 200, "{rotated}");
    // Reuse of the rotated-away token at node 2 kills the family everywhere.
    let (status, body) = refresh(&node2, &f, old_refresh).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert!(!active_at(&node1, &f.slug, &rs, access).await);
    assert!(
        !active_at(
            &node1,
            &f.slug,
            &rs,
            rotated["access_token"].as_str().unwrap()
        )
        .await
    );
    let (status, _) = refresh(&node1, &f, rotated["refresh_token"].as_str().unwrap()).await;
    assert_eq!(
        status, 400,
        "the newest refresh token of the family is dead too"
    );
}

#[tokio::test]
async fn of_twenty_simultaneous_refreshes_exactly_one_succeeds_and_the_family_dies() {
    let (node1, node2) = spawn_two_nodes().await;
    let f = user_fixture(&node1, &["authorization_code", "refresh_token"]).await;
    let rs = resource_server(&node1, &f).await;
    let first = user_tokens(&node1, &f).await;
    let token = first["refresh_token"].as_str().unwrap().to_owned();
    let attempts = (0..20).map(|i| {
        let node = if i % 2 == 0 { &node1 } else { &node2 };
        refresh(node, &f, &token)
    });
    let results = futures_util::future::join_all(attempts).await;
    let winners: Vec<_> = results
        .iter()
        .filter(|(status, _)| *status == 200)
        .collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    assert!(results
        .iter()
        .filter(|(s, _)| *s != 200)
        .all(|(s, b)| *s == 400 && b["error"] == "invalid_grant"));
    let winner = &winners[0].1;
    let (status, _) = refresh(&node1, &f, winner["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, 400, "the family is dead");
    assert!(
        !active_at(
            &node2,
            &f.slug,
            &rs,
            winner["access_token"].as_str().unwrap()
        )
        .await
    );
}

#[tokio::test]
async fn a_refresh_may_narrow_the_scope_but_never_widen_it() {
    let (node1, _) = spawn_two_nodes().await;
    let f = user_fixture(&node1, &["authorization_code", "refresh_token"]).await;
    let (code, verifier) = code_for(&node1, &f, &["chat:read", "chat:write"]).await;
    let (_, tokens) = redeem(&node1, &f, &code, Some(verifier.secret())).await;
    let rt = tokens["refresh_token"].as_str().unwrap();
    let (status, body) = node1
        .post_token(
            &f.slug,
            None,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", rt),
                ("client_id", &f.client_id),
                ("scope", "chat:read files:read"),
            ],
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope"))
    );
    let (status, narrowed) = node1
        .post_token(
            &f.slug,
            None,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", rt),
                ("client_id", &f.client_id),
                ("scope", "chat:read"),
            ],
        )
        .await;
    assert_eq!(
        status, 200,
        "a refused widening does not use the token up: {narrowed}"
    );
    assert_eq!(narrowed["scope"], "chat:read");
}
