(import 'ensemble.libsonnet') +
(import 'jvm.libsonnet') +
(import 'processes.libsonnet') +
(import 'zkwatch.libsonnet') +
(import 'alerting.libsonnet')
