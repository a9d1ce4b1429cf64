local dashboards = (import 'mixin.libsonnet').grafanaDashboards;
{ [name]: std.manifestJsonEx(dashboards[name], '  ') + '\n' for name in std.objectFields(dashboards) }
