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

  local panel(type, title, targets, unit, description) = {
    type: type,
    title: title,
    datasource: ds,
    targets: [
      targets[i] { refId: std.char(std.codepoint('A') + i) }
      for i in std.range(0, std.length(targets) - 1)
    ],
    [if description != '' then 'description']: description,
    fieldConfig: { defaults: { unit: unit }, overrides: [] },
    options: {},
  },

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

  // table shows instant query results, one row per series.
  table(title, targets, description=''):: panel('table', title, [t { instant: true, range: false, format: 'table' } for t in targets], 'short', description) {
    options: { showHeader: true, footer: { show: false } },
    transformations: [{ id: 'merge', options: {} }, { id: 'organize', options: { excludeByName: { Time: true } } }],
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

  // jobVariable selects the jobs that expose metric (every value by
  // default); panels select on job=~"$<name>", so no job name is fixed in a
  // dashboard.
  jobVariable(name, label, metric):: {
    name: name,
    label: label,
    type: 'query',
    datasource: ds,
    query: { query: 'label_values(%s, job)' % metric, refId: name },
    definition: 'label_values(%s, job)' % metric,
    current: {},
    includeAll: true,
    multi: true,
    allValue: '.+',
    refresh: 2,
    sort: 1,
    hide: 0,
    regex: '',
  },

  // variables are the template variables every dashboard has: the
  // Prometheus datasource, the exporter job and the ensemble.
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
    {
      name: 'ensemble',
      label: 'Ensemble',
      type: 'query',
      datasource: ds,
      query: { query: 'label_values(%s{job=~"$job"}, %s)' % [jobSelectorMetric, ensembleLabel], refId: 'ensemble' },
      definition: 'label_values(%s{job=~"$job"}, %s)' % [jobSelectorMetric, ensembleLabel],
      current: {},
      includeAll: true,
      multi: true,
      allValue: '.+',
      refresh: 2,
      sort: 1,
      hide: 0,
      regex: '',
    },
  ],

  dashboard(title, uid, config, rows, extraVariables=[], description=''):: {
    title: title,
    uid: uid,
    description: description,
    tags: config.dashboardTags,
    editable: true,
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
