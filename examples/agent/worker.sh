#!/bin/sh
# Example task pool: create tasks, then start workers on any hosts. The
# producer shares the workers' identity (/etc/zkwatch/agent.digest holds
# agent:PASSWORD): in zkCli.sh, addauth digest agent:PASSWORD, then
#   create /jobs/pool '' world:anyone:r,auth::cdrwa
#   create /jobs/pool/Tasks '' world:anyone:r,auth::cdrwa
#   and one create /jobs/pool/Tasks/<file> '' world:anyone:r,auth::cdrwa per input file
# Each worker claims its fair share of tasks (version-checked), runs
# process-file for each, and marks it {"worker":...,"state":"done","exit_code":N}.
exec zkwatch_agent --zookeeper.servers=zk1:2181,zk2:2181,zk3:2181 \
    --zookeeper.auth.digest-file=/etc/zkwatch/agent.digest --zookeeper.acl=world-read \
    --web.listen-address=:9146 \
    worker --root=/jobs/pool --member="$(hostname)" --concurrency=2 \
    -- /usr/local/bin/process-file '/data/in/{{.Task}}'
