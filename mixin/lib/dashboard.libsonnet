// A small Grafana dashboard library in plain jsonnet (grafonnet is not
// available here). It builds the JSON model of current Grafana releases:
// panels with gridPos, Prometheus targets on the ${datasource} variable, and
// the template variables every zkwatch dashboard shares.
local ds = { type: 'prometheus', uid: '${datasource}' };

{
  schemaVersion:: 39,

  // target is one PromQL query of a panel.
  target(expr, legend='', instant=false):: {
    datasource: ds,
    expr: expr,
    legendFormat: legend,
    [if instant then 'instant']: true,
    [if instant then 'range']: false,
  },

  // Every panel says what it shows and how to read it (grafana's
  // dashboard-linter: panel-title-description-rule).
  local panel(type, title, targets, unit, description) =
    assert description != '' : 'panel "%s" needs a description' % title;
    {
      type: type,
      title: title,
      description: description,
      datasource: ds,
      targets: [
        targets[i] { refId: std.char(std.codepoint('A') + i) }
        for i in std.range(0, std.length(targets) - 1)
      ],
      fieldConfig: { defaults: { unit: unit }, overrides: [] },
      options: {},
    },

  // events is what a counter selected by selector added over each
  // $__rate_interval, summed by the labels in by. increase() needs two
  // samples inside its window, so a step across a scrape gap longer than
  // the window (failed scrapes mark the series stale) would vanish; this
  // subtracts the newest sample before the window (up to an hour older)
  // instead. A counter that restarted counts from zero.
  events(selector, by)::
    'sum by (%(by)s) (((%(s)s - last_over_time(%(s)s[1h] offset $__rate_interval)) >= 0) or %(s)s)' % { s: selector, by: by },

  // timeseries is a graph over time.
  timeseries(title, targets, unit='short', description='', stack=false):: panel('timeseries', title, targets, unit, description) {
    fieldConfig+: { defaults+: { custom: { fillOpacity: if stack then 30 else 10, stacking: { mode: if stack then 'normal' else 'none' } } } },
    options: { legend: { displayMode: 'table', placement: 'bottom', calcs: ['lastNotNull', 'max'] }, tooltip: { mode: 'multi', sort: 'desc' } },
  },

  // stat shows the last value, coloured by thresholds given as
  // [[value, colour], ...] above a green base.
  stat(title, targets, unit='short', description='', thresholds=[], mappings=[]):: panel('stat', title, targets, unit, description) {
    fieldConfig+: { defaults+: {
      thresholds: { mode: 'absolute', steps: [{ color: 'green', value: null }] + [{ value: t[0], color: t[1] } for t in thresholds] },
      mappings: mappings,
    } },
    options: { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, colorMode: 'background', graphMode: 'none', textMode: 'auto' },
  },

  // column is a table query whose value becomes the column header (null:
  // the value is hidden, the query only brings its labels), with a unit
  // and value mappings.
  column(target, header=null, unit='short', mappings=[]):: target { header:: header, unit:: unit, mappings:: mappings },

  // table shows instant query results, one row per label set, merged on
  // the labels the queries share. Every query aggregates by its labels;
  // labels is a list of [label, header] naming the label columns in order,
  // and the queries' value columns ("Value #A", ..., or "Value" for a lone
  // query) are renamed by their column() header or hidden, so no column is
  // left unnamed.
  table(title, columns, labels, description=''):: panel('table', title, [c { instant: true, range: false, format: 'table' } for c in columns], 'none', description) {
    // Grafana names the value of a lone query "Value".
    local valueName(i) = if std.length(columns) == 1 then 'Value' else 'Value #' + std.char(std.codepoint('A') + i),
    local values = [[valueName(i), columns[i]] for i in std.range(0, std.length(columns) - 1)],
    local shown = [v for v in values if v[1].header != null],
    local order = [l[0] for l in labels] + [v[0] for v in shown],
    options: { showHeader: true, cellHeight: 'sm', footer: { show: false } },
    fieldConfig+: { overrides: [
      {
        matcher: { id: 'byName', options: v[1].header },
        properties: [{ id: 'unit', value: v[1].unit }] + (if v[1].mappings != [] then [{ id: 'mappings', value: v[1].mappings }] else []),
      }
      for v in shown
    ] },
    transformations: [
      { id: 'merge', options: {} },
      { id: 'organize', options: {
        excludeByName: { Time: true } + { [v[0]]: true for v in values if v[1].header == null },
        indexByName: { [order[i]]: i for i in std.range(0, std.length(order) - 1) },
        renameByName: { [l[0]]: l[1] for l in labels } + { [v[0]]: v[1].header for v in shown },
      } },
    ],
  },

  // valueMap maps numbers to text and colour for stat panels.
  valueMap(pairs):: [{
    type: 'value',
    options: std.foldl(
      function(acc, i) acc { [std.toString(pairs[i][0])]: { text: pairs[i][1], color: pairs[i][2], index: i } },
      std.range(0, std.length(pairs) - 1),
      {}
    ),
  }],

  // layout places rows of panels on the 24-column grid and numbers them.
  // rows is a list of { title, height, panels }; widths are split evenly
  // unless a panel carries its own width in w.
  layout(rows)::
    local place(rowIdx, y, idBase) =
      local r = rows[rowIdx];
      local n = std.length(r.panels);
      local h = if std.objectHas(r, 'height') then r.height else 8;
      local header = { type: 'row', title: r.title, collapsed: false, id: idBase, gridPos: { x: 0, y: y, w: 24, h: 1 }, panels: [] };
      local widths = [if std.objectHasAll(p, 'w') then p.w else std.floor(24 / n) for p in r.panels];
      local xs = [std.foldl(function(acc, w) acc + w, widths[0:i], 0) for i in std.range(0, n - 1)];
      [header] + [
        r.panels[i] { id: idBase + 1 + i, gridPos: { x: xs[i] % 24, y: y + 1 + h * std.floor(xs[i] / 24), w: widths[i], h: h } }
        for i in std.range(0, n - 1)
      ];
    local heights = [
      local r = rows[i];
      local n = std.length(r.panels);
      local total = std.foldl(function(acc, p) acc + (if std.objectHasAll(p, 'w') then p.w else std.floor(24 / n)), r.panels, 0);
      1 + (if std.objectHas(r, 'height') then r.height else 8) * std.ceil(total / 24)
      for i in std.range(0, std.length(rows) - 1)
    ];
    std.flattenArrays([
      place(i, std.foldl(function(acc, h) acc + h, heights[0:i], 0), 100 * (i + 1))
      for i in std.range(0, std.length(rows) - 1)
    ]),

  // labelVariable selects values of label among the series of selector,
  // all of them by default (multi-value, "All" as .+, refreshed with the
  // time range, as dashboard-linter's template rules ask). Panels match
  // label=~"$<name>", so no job or instance is fixed in a dashboard.
  labelVariable(name, label, selector, labelName):: {
    name: name,
    label: label,
    type: 'query',
    datasource: ds,
    query: { query: 'label_values(%s, %s)' % [selector, labelName], refId: name },
    definition: 'label_values(%s, %s)' % [selector, labelName],
    current: {},
    includeAll: true,
    multi: true,
    allValue: '.+',
    refresh: 2,
    sort: 1,
    hide: 0,
    regex: '',
  },

  // jobVariable selects the jobs that expose metric.
  jobVariable(name, label, metric):: $.labelVariable(name, label, metric, 'job'),

  // variables are the template variables every dashboard has: the
  // Prometheus datasource, the exporter job and the ensemble (which plays
  // the part of dashboard-linter's instance variable, on ensembleLabel).
  variables(jobSelectorMetric, ensembleLabel):: [
    {
      name: 'datasource',
      label: 'Data source',
      type: 'datasource',
      query: 'prometheus',
      current: {},
      hide: 0,
      refresh: 1,
      regex: '',
    },
    $.jobVariable('job', 'Job', jobSelectorMetric),
    $.labelVariable('ensemble', 'Ensemble', '%s{job=~"$job"}' % jobSelectorMetric, ensembleLabel),
  ],

  dashboard(title, uid, config, rows, extraVariables=[], description=''):: {
    title: title,
    uid: uid,
    description: description,
    tags: config.dashboardTags,
    // Provisioned dashboards are changed in jsonnet, not in Grafana
    // (dashboard-linter: uneditable-dashboard-rule).
    editable: false,
    graphTooltip: 1,
    refresh: config.dashboardRefresh,
    schemaVersion: $.schemaVersion,
    time: { from: config.dashboardTimeFrom, to: 'now' },
    timepicker: {},
    timezone: 'utc',
    annotations: { list: [{
      builtIn: 1,
      datasource: { type: 'grafana', uid: '-- Grafana --' },
      enable: true,
      hide: true,
      iconColor: 'rgba(0, 211, 255, 1)',
      name: 'Annotations & Alerts',
      type: 'dashboard',
    }] },
    links: [],
    templating: { list: $.variables('zookeeper_up', config.dashboardEnsembleLabel) + extraVariables },
    panels: $.layout(rows),
  },
}
