#!/bin/sh
# Example task pool: create tasks, then start workers on any hosts.
#   zkCli.sh create /jobs/pool ''; zkCli.sh create /jobs/pool/Tasks ''
#   for f in /data/in/*; do zkCli.sh create "/jobs/pool/Tasks/$(basename "$f")" ''; done
# Each worker claims its fair share of tasks (version-checked), runs
# process-file for each, and marks it {"worker":...,"state":"done","exit_code":N}.
exec zkwatch_agent --zookeeper.servers=zk1:2181,zk2:2181,zk3:2181 \
    --web.listen-address=:9146 \
    worker --root=/jobs/pool --member="$(hostname)" --concurrency=2 \
    -- /usr/local/bin/process-file '/data/in/{{.Task}}'
