use super::*;

#[test]
fn an_empty_query_has_no_conditions() {
    assert_eq!(Query::new().conditions(), (String::new(), vec![]));
}

#[test]
fn conditions_are_numbered_parameters_in_order() {
    let query = Query::new()
        .since(Timestamp::UNIX_EPOCH)
        .seq_range(3..=9)
        .actor("alice")
        .actor_kind(ActorKind::User)
        .min_severity(Severity::Warning)
        .category(Category::AccessControl)
        .category(Category::AuditLog)
        .outcome(Outcome::Denied);
    let (sql, values) = query.conditions();
    assert_eq!(
        sql,
        "ts >= ?1 AND seq >= ?2 AND seq <= ?3 AND actor = ?4 AND actor_kind = ?5 AND \
         severity <= ?6 AND category IN (?7, ?8) AND outcome IN (?9)"
    );
    assert_eq!(
        values,
        vec![
            SqlValue::Integer(0),
            SqlValue::Integer(3),
            SqlValue::Integer(9),
            SqlValue::Text("alice".into()),
            SqlValue::Text("user".into()),
            SqlValue::Integer(4),
            SqlValue::Text("access_control".into()),
            SqlValue::Text("audit_log".into()),
            SqlValue::Text("denied".into()),
        ]
    );
}

#[test]
fn huge_sequence_numbers_are_clamped_not_wrapped() {
    let (_, values) = Query::new().seq_range(0..=u64::MAX).conditions();
    assert_eq!(values[1], SqlValue::Integer(i64::MAX));
}
