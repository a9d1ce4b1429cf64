local a = import '../lib/alert.libsonnet';

// Who and what loads ZooKeeper: one client address holding most of a
// member's connections (connections collector, top clients), and znodes
// whose data or children approach what ZooKeeper can serve (guardrails
// collector, over the paths the watch collectors follow).
{
  prometheusAlerts+:: {
    local c = a.printable($._config),
    groups+: [
      {
        name: 'zookeeper-load',
        rules: [
          a.alert(
            'ZooKeeperClientConnectionsShare',
            |||
              (
                zookeeper_top_client_connections{%(zookeeperSelector)s, client!="other"}
                  / on (%(ensembleBy)s, server) group_left ()
                sum by (%(ensembleBy)s, server) (zookeeper_top_client_connections{%(zookeeperSelector)s})
              ) > %(clientConnectionsShareThreshold)s
              and on (%(ensembleBy)s, server)
              sum by (%(ensembleBy)s, server) (zookeeper_top_client_connections{%(zookeeperSelector)s}) >= %(clientConnectionsShareMinConnections)s
            ||| % c,
            c.clientConnectionsShareFor,
            c.warningSeverity,
            'One client address holds most of a ZooKeeper server\'s connections.',
            '{{ $labels.client }} holds {{ $value | humanizePercentage }} of the client connections of {{ $labels.server }} in ensemble %(ensembleName)s.' % c,
          ),
          a.alert(
            'ZooKeeperZnodeNearMaxBuffer',
            |||
              max by (%(ensembleBy)s, root) (zookeeper_watch_largest_data_bytes{%(zookeeperSelector)s})
                > on (%(ensembleBy)s) group_left ()
              %(znodeMaxBufferShare)s * max by (%(ensembleBy)s) (zookeeper_jute_maxbuffer_bytes{%(zookeeperSelector)s})
            ||| % c,
            c.znodeNearMaxBufferFor,
            c.warningSeverity,
            'A znode\'s data is close to jute.maxbuffer.',
            'A znode under {{ $labels.root }} in ensemble %(ensembleName)s holds {{ $value }} bytes of data, above %(znodeMaxBufferShare)s × jute.maxbuffer: a larger write is refused, and followers stall syncing it.' % c,
          ),
          a.alert(
            'ZooKeeperTooManyChildren',
            |||
              max by (%(ensembleBy)s, root) (zookeeper_watch_largest_children{%(zookeeperSelector)s}) > %(tooManyChildrenThreshold)s
            ||| % c,
            c.tooManyChildrenFor,
            c.warningSeverity,
            'A znode has too many children.',
            'A znode under {{ $labels.root }} in ensemble %(ensembleName)s has {{ $value }} children, more than %(tooManyChildrenThreshold)s: listing them is slow and may pass jute.maxbuffer.' % c,
          ),
        ],
      },
    ],
  },
}
