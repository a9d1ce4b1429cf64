// Small helpers shared by the alert fragments.
{
  // printable is the config with its numbers written as a person writes
  // them: jsonnet's %s prints 0.1 as 0.10000000000000001.
  printable(c):: {
    [k]: (if std.isNumber(c[k]) then (if c[k] == std.floor(c[k]) then '%d' % c[k] else '%g' % c[k]) else c[k])
    for k in std.objectFieldsAll(c)
  },

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

  // counterRatio is the ratio of the increases of two counters over window
  // (fn is rate or increase; nums and dens are lists of selectors whose
  // terms are added up, aggregated by `by` when it is not null), safe
  // around restarts and idle servers:
  //  - a zero denominator (nothing counted in the window) gives no result,
  //    not NaN or +Inf;
  //  - a window in which the numerator and the denominator show different
  //    numbers of counter resets gives no result. A restarted process's
  //    count can come back to its old value (ZooKeeper counts one election
  //    and one snapshot per start: 1, then 1 again), so Prometheus sees no
  //    reset of it while the sum's change looks like an increase, and
  //    the ratio of the two would be meaningless.
  // The result is parenthesised, ready for a comparison.
  counterRatio(fn, nums, dens, window, by=null)::
    local terms(f, sels) = '(' + std.join('\n    + ', [
      if by == null then '%s(%s[%s])' % [f, s, window] else 'sum by (%s) (%s(%s[%s]))' % [by, f, s, window]
      for s in sels
    ]) + ')';
    |||
      (
        %(num)s
          / (%(den)s > 0)
        unless
        %(numResets)s
          != %(denResets)s
      )
    ||| % { num: terms(fn, nums), den: terms(fn, dens), numResets: terms('resets', nums), denResets: terms('resets', dens) },

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
