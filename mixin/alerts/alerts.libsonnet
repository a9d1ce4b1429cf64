(import 'ensemble.libsonnet') +
(import 'jvm.libsonnet') +
(import 'load.libsonnet') +
(import 'processes.libsonnet') +
(import 'splitbrain.libsonnet') +
(import 'zkwatch.libsonnet') +
(import 'alerting.libsonnet')
