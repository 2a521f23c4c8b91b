//! Administration records: channels, agents and their API tokens.

use super::*;

pub async fn agents_tokens_and_channels(store: Arc<dyn Store>) {
    setup(&store).await;
    let dup = store
        .create_channel(NewChannel {
            id: channel(),
            kind: "rest".into(),
            name: "again".into(),
            token_hash: None,
            callback_url: None,
            callback_secret: None,
            created_at: T0,
        })
        .await;
    assert!(matches!(dup, Err(Error::AlreadyExists(_))));
    assert_eq!(store.channels().await.unwrap().len(), 1);

    let new = |email: &str| NewAgent {
        email: email.into(),
        name: "Ann".into(),
        role: Role::Admin,
        password_hash: Some("$argon2id$fake".into()),
        capacity: 5,
        created_at: T0,
    };
    let ann = store.create_agent(new("ann@example.com")).await.unwrap();
    assert!(matches!(
        store.create_agent(new("ann@example.com")).await,
        Err(Error::AlreadyExists(_))
    ));
    let (found, hash) = store
        .agent_by_email("ann@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (found.id, hash.as_deref()),
        (ann.id, Some("$argon2id$fake"))
    );
    assert!(
        store
            .agent_by_email("nobody@example.com")
            .await
            .unwrap()
            .is_none()
    );

    let token = |hash: &str, expires: Option<Timestamp>| NewToken {
        agent: ann.id,
        name: "ci".into(),
        hash: hash.into(),
        scopes: vec!["admin".into()],
        kind: "api".into(),
        created_at: T0,
        expires_at: expires,
    };
    let t = store.create_token(token("h1", None)).await.unwrap();
    let (info, agent) = store.token_by_hash("h1", T0).await.unwrap().unwrap();
    assert_eq!(
        (info.id, agent.id, info.scopes.clone()),
        (t.id, ann.id, vec!["admin".to_owned()])
    );
    store
        .create_token(token("h2", Some(T0.plus(Duration::minutes(1)))))
        .await
        .unwrap();
    assert!(store.token_by_hash("h2", T0).await.unwrap().is_some());
    assert!(
        store
            .token_by_hash("h2", T0.plus(Duration::minutes(2)))
            .await
            .unwrap()
            .is_none(),
        "expired"
    );
    assert!(
        !store
            .revoke_token(t.id, AgentId(ann.id.0 + 1), T0)
            .await
            .unwrap(),
        "only the owner revokes"
    );
    assert!(store.revoke_token(t.id, ann.id, T0).await.unwrap());
    assert!(
        store.token_by_hash("h1", T0).await.unwrap().is_none(),
        "revoked"
    );
    assert!(matches!(
        store
            .create_token(NewToken {
                agent: AgentId(9999),
                ..token("h3", None)
            })
            .await,
        Err(Error::NotFound(_))
    ));
}
