// Small helpers shared by the alert fragments.
{
  // alert builds one alerting rule. expr is a ||| block already formatted
  // with the config; forDuration may be null for alerts that need none.
  alert(name, expr, forDuration, severity, summary, description, labels={}):: {
    alert: name,
    expr: expr,
    [if forDuration != null then 'for']: forDuration,
    labels: { severity: severity } + labels,
    annotations: {
      summary: summary,
      description: description,
    },
  },

  // addRunbookLinks sets runbook_url on every alert of groups from
  // pattern % the lower-cased alert name, the anchor of its runbook section.
  addRunbookLinks(groups, pattern):: [
    group {
      rules: [
        if std.objectHas(rule, 'alert') then rule {
          annotations+: { runbook_url: pattern % std.asciiLower(rule.alert) },
        } else rule
        for rule in group.rules
      ],
    }
    for group in groups
  ],
}
