(import 'ensemble.libsonnet') +
(import 'jvm.libsonnet') +
(import 'processes.libsonnet') +
(import 'splitbrain.libsonnet') +
(import 'zkwatch.libsonnet') +
(import 'alerting.libsonnet')
