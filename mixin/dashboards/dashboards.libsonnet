(import 'ensemble.libsonnet') +
(import 'processes.libsonnet') +
(import 'zkwatch.libsonnet')
