//! Delegation (RFC 8693 §4.1): which actor tokens are accepted, the `act` chain, and the
//! actor's part in the revocation cascade and in the delegated token's lifetime.
use serde_json::{json, Value};

use super::{client, world, Creds, World, ACCESS};
use crate::helpers::{
    spawn_app, spawn_app_with, spawn_two_nodes, verify_with_jwks, StoreKind, TestApp,
};
use crate::revocation::revoke_as;

/// A client-credentials client whose tokens serve as actor tokens.
async fn agent(app: &TestApp, w: &World, name: &str, app_ids: Value) -> Creds {
    client(
        app,
        &w.slug,
        json!({"name": name, "type": "confidential", "grant_types": ["client_credentials"], "scopes": ["chat:read", "files:read"], "app_ids": app_ids}),
    )
    .await
}

/// A client-credentials token of `who`: tenant-wide, or for the app of `resource`.
async fn token_of(app: &TestApp, w: &World, who: &Creds, resource: Option<&str>) -> String {
    let mut form = vec![("grant_type", "client_credentials"), ("scope", "chat:read")];
    if let Some(resource) = resource {
        form.push(("resource", resource));
    }
    let (status, body) = app.post_token(&w.slug, Some(who.pair()), &form).await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().into()
}

/// The exchanger exchanges `subject` into app X, with `actor` acting when given.
async fn delegate(app: &TestApp, w: &World, subject: &str, actor: Option<&str>) -> (u16, Value) {
    let mut form = vec![
        ("subject_token", subject),
        ("subject_token_type", ACCESS),
        ("audience", World::aud(&w.x)),
    ];
    if let Some(actor) = actor {
        form.extend([("actor_token", actor), ("actor_token_type", ACCESS)]);
    }
    w.exchange(app, &form).await
}

async fn delegated(app: &TestApp, w: &World, subject: &str, actor: Option<&str>) -> String {
    let (status, body) = delegate(app, w, subject, actor).await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().into()
}

/// Revokes at `a`, checks at `b`.
async fn the_actor_is_part_of_the_cascade(a: &TestApp, b: &TestApp) {
    let w = world(a).await;
    w.patch_exchanger(a, json!({"exchange": {"may_act": true}}))
        .await;
    let agent = agent(a, &w, "agent", json!([w.x["id"]])).await;
    let subject = w.subject_token(a, "chat:read").await;
    let undelegated = delegated(a, &w, &subject, None).await;

    // Arrange: the actor token revoked by its own client at the revocation endpoint.
    let actor = token_of(a, &w, &agent, None).await;
    let with_actor = delegated(a, &w, &subject, Some(&actor)).await;
    let re_exchanged = delegated(a, &w, &with_actor, None).await;
    assert!(w.is_active(b, &with_actor).await && w.is_active(b, &re_exchanged).await);
    // Act
    assert_eq!(revoke_as(a, &w.slug, agent.pair(), &actor).await, 200);
    // Assert
    assert!(!w.is_active(b, &with_actor).await, "at once, on every node");
    assert!(
        !w.is_active(b, &re_exchanged).await,
        "down the chain, though the later exchange named no actor"
    );
    assert!(
        w.is_active(b, &undelegated).await,
        "the subject's tokens without that actor live on"
    );

    // An actor token that was itself exchanged dies with what it came from, and so does the
    // token delegated with it.
    let agent_token = token_of(a, &w, &agent, None).await;
    let actor = delegated(a, &w, &agent_token, None).await;
    let with_actor = delegated(a, &w, &subject, Some(&actor)).await;
    assert!(w.is_active(b, &with_actor).await);
    assert_eq!(revoke_as(a, &w.slug, agent.pair(), &agent_token).await, 200);
    assert!(!w.is_active(b, &with_actor).await, "the actor's provenance");

    // A bulk revocation that covers the actor (its client), not the subject.
    let actor = token_of(a, &w, &agent, Some(World::aud(&w.x))).await;
    let with_actor = delegated(a, &w, &subject, Some(&actor)).await;
    assert!(w.is_active(b, &with_actor).await);
    let (status, body) = a
        .post_admin(
            &format!("/tenants/{}/revocations", w.slug),
            json!({"client_id": agent.id}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        !w.is_active(b, &with_actor).await,
        "the actor's client mark"
    );
    assert!(
        w.is_active(b, &undelegated).await,
        "the subject's are untouched"
    );
}

#[tokio::test]
async fn revoking_the_actor_revokes_what_was_delegated_with_it_on_every_node() {
    let (node1, node2) = spawn_two_nodes().await;
    the_actor_is_part_of_the_cascade(&node1, &node2).await;
}

#[tokio::test]
async fn revoking_the_actor_revokes_what_was_delegated_with_it_in_the_single_node_store() {
    let app = spawn_app_with(StoreKind::Memory).await;
    the_actor_is_part_of_the_cascade(&app, &app).await;
}

#[tokio::test]
async fn an_actor_token_must_be_meant_for_grantd_or_for_the_target_app() {
    // Arrange
    let app = spawn_app().await;
    let w = world(&app).await;
    w.patch_exchanger(&app, json!({"exchange": {"may_act": true}}))
        .await;
    let at_y = agent(&app, &w, "y-agent", json!([w.y["id"]])).await;
    let at_x = agent(&app, &w, "x-agent", json!([w.x["id"]])).await;
    let subject = w.subject_token(&app, "chat:read").await;
    let y_token = token_of(&app, &w, &at_y, Some(World::aud(&w.y))).await;
    let (_, body) = w
        .exchange(
            &app,
            &[
                ("subject_token", &subject),
                ("subject_token_type", ACCESS),
                ("audience", World::aud(&w.y)),
            ],
        )
        .await;
    let own_y_token = body["access_token"].as_str().unwrap().to_owned();
    let x_token = token_of(&app, &w, &at_x, Some(World::aud(&w.x))).await;
    let tenant_token = token_of(&app, &w, &at_y, None).await;

    // Act + Assert: app Y's tokens never act at app X, whoever they were issued to.
    for (actor, whose) in [
        (&y_token, "another client's"),
        (&own_y_token, "the caller's own"),
    ] {
        let (status, body) = delegate(&app, &w, &subject, Some(actor)).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_request")),
            "{whose} token for app Y: {body}"
        );
        assert!(body["error_description"]
            .as_str()
            .unwrap()
            .contains("actor token"));
    }
    // Tokens for app X itself, or tenant-wide ones (meant for grantd), are accepted.
    for (actor, sub) in [(&x_token, &at_x.id), (&tenant_token, &at_y.id)] {
        let (status, body) = delegate(&app, &w, &subject, Some(actor)).await;
        assert_eq!(status, 200, "{body}");
        let claims = verify_with_jwks(
            &app,
            &w.slug,
            body["access_token"].as_str().unwrap(),
            World::aud(&w.x),
        )
        .await;
        assert_eq!(claims["act"], json!({"sub": sub}));
    }
    let events = app
        .audit_events_with(&w.slug, |e| {
            e["action"] == "token.exchanged"
                && e["outcome"] == "refused"
                && e["detail"].as_str().unwrap().contains("actor token")
        })
        .await;
    let refused = events
        .iter()
        .filter(|e| {
            e["outcome"] == "refused" && e["detail"].as_str().unwrap().contains("actor token")
        })
        .count();
    assert_eq!(refused, 2, "both refusals are audited: {events:?}");
}

/// `{"sub": chain[0], "act": {"sub": chain[1], …}}`: the most recent actor outermost.
fn nested(chain: &[&str]) -> Value {
    chain.iter().rev().fold(Value::Null, |inner, sub| {
        let mut act = json!({ "sub": sub });
        if !inner.is_null() {
            act["act"] = inner;
        }
        act
    })
}

#[tokio::test]
async fn a_new_actor_nests_the_earlier_chain_up_to_five_actors() {
    // Arrange
    let app = spawn_app().await;
    let w = world(&app).await;
    w.patch_exchanger(&app, json!({"exchange": {"may_act": true}}))
        .await;
    let x = World::aud(&w.x);
    let mut agents = Vec::new();
    for i in 0..6 {
        agents.push(agent(&app, &w, &format!("agent-{i}"), json!([])).await);
    }
    let mut token = w.subject_token(&app, "chat:read").await;
    let mut chain: Vec<&str> = Vec::new();
    // Act + Assert: each re-exchange with a new actor keeps the earlier ones beneath it.
    for agent in &agents[..5] {
        let actor = token_of(&app, &w, agent, None).await;
        token = delegated(&app, &w, &token, Some(&actor)).await;
        chain.insert(0, &agent.id);
        let claims = verify_with_jwks(&app, &w.slug, &token, x).await;
        assert_eq!(claims["act"], nested(&chain), "RFC 8693 §4.1 nesting");
        assert_eq!(claims["sub"], w.subject.id);
    }
    // The resource kit reads the whole chain.
    let claims = verify_with_jwks(&app, &w.slug, &token, x).await;
    let kit: grantd_resource::Claims = serde_json::from_value(claims).unwrap();
    let read: Vec<&str> = kit.act.as_ref().unwrap().chain().collect();
    assert_eq!(read, chain);
    // Without a new actor, the chain is kept as it is.
    let kept = delegated(&app, &w, &token, None).await;
    let claims = verify_with_jwks(&app, &w.slug, &kept, x).await;
    assert_eq!(claims["act"], nested(&chain));
    // A sixth actor would make the chain longer than grantd lets a token grow.
    let actor = token_of(&app, &w, &agents[5], None).await;
    let (status, body) = delegate(&app, &w, &token, Some(&actor)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request")),
        "{body}"
    );
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("delegation chain"));
}

#[tokio::test]
async fn the_lifetime_never_outlives_the_actor() {
    // Arrange: an actor token with a minute left, a subject with ten.
    let app = spawn_app().await;
    let w = world(&app).await;
    w.patch_exchanger(
        &app,
        json!({"exchange": {"may_act": true, "max_lifetime_seconds": 60}}),
    )
    .await;
    let agent = agent(&app, &w, "agent", json!([])).await;
    let agent_token = token_of(&app, &w, &agent, None).await;
    let actor = delegated(&app, &w, &agent_token, None).await;
    w.patch_exchanger(
        &app,
        json!({"exchange": {"may_act": true, "max_lifetime_seconds": 600}}),
    )
    .await;
    let subject = w.subject_token(&app, "chat:read").await;
    // Act
    let (status, body) = delegate(&app, &w, &subject, Some(&actor)).await;
    // Assert
    assert_eq!(status, 200, "{body}");
    let x = World::aud(&w.x);
    let actor_exp = verify_with_jwks(&app, &w.slug, &actor, x).await["exp"]
        .as_i64()
        .unwrap();
    let claims = verify_with_jwks(&app, &w.slug, body["access_token"].as_str().unwrap(), x).await;
    assert!(
        claims["exp"].as_i64().unwrap() <= actor_exp,
        "{} > the actor's {actor_exp}",
        claims["exp"]
    );
    assert!(body["expires_in"].as_i64().unwrap() <= 60, "{body}");
}
