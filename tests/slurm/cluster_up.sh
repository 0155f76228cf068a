#!/usr/bin/env bash
# Start a throw-away SLURM cluster on this machine for the tests (root; needs slurm-wlm and munge).
#   SLURM_TEST_ROOT=<scratch> [SLURM_TEST_NODES=2] tests/slurm/cluster_up.sh
# With 2+ nodes, several slurmd run here as n1..nN; their names do not resolve, so jobs must
# export MASTER_ADDR=127.0.0.1. Clients need SLURM_CONF=<scratch>/slurm.conf.
set -euo pipefail
root=${SLURM_TEST_ROOT:?set SLURM_TEST_ROOT to a scratch folder}
nodes=${SLURM_TEST_NODES:-2}
cpus=$(nproc)
mem_mb=$(( $(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo) - 1024 ))
host=$(hostname -s)
mkdir -p "$root"/{state,log,run,munge}
chmod 700 "$root"/munge
# munged wants every folder above its socket searchable by all, which scratch folders
# (pytest's are 0700) often are not: the socket gets a folder of its own in /tmp.
sock_dir=$(mktemp -d /tmp/videovision-munge.XXXXXX)
chmod 755 "$sock_dir"
echo "$sock_dir" > "$root/run/socket_dir"

key=$root/munge/munge.key
sock=$sock_dir/munge.socket
[ -s "$key" ] || { dd if=/dev/urandom bs=1 count=1024 of="$key" status=none; chmod 400 "$key"; }
munged --key-file="$key" --socket="$sock" --pid-file="$root/run/munged.pid" \
  --log-file="$root/log/munged.log" --seed-file="$root/munge/seed"
for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done

names=""
node_lines=""
for i in $(seq 1 "$nodes"); do
  names+="${names:+,}n$i"
  node_lines+="NodeName=n$i NodeHostname=localhost NodeAddr=127.0.0.1 Port=$((17100 + i)) CPUs=$cpus RealMemory=$((mem_mb / nodes)) State=UNKNOWN"$'\n'
  mkdir -p "$root/spool/n$i"
done

cat > "$root/slurm.conf" <<CONF
ClusterName=videovision-test
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=17000
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$sock
StateSaveLocation=$root/state
SlurmdSpoolDir=$root/spool/%n
SlurmctldPidFile=$root/run/slurmctld.pid
SlurmdPidFile=$root/run/slurmd-%n.pid
SlurmctldLogFile=$root/log/slurmctld.log
SlurmdLogFile=$root/log/slurmd-%n.log
MailProg=/bin/true
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
${node_lines}PartitionName=test Nodes=$names Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$root/slurm.conf

slurmctld -c
for _ in $(seq 100); do scontrol ping 2>/dev/null | grep -q UP && break; sleep 0.2; done
for i in $(seq 1 "$nodes"); do slurmd -N "n$i"; done
for _ in $(seq 150); do
  [ "$(sinfo -h -o %T | sort -u | tr -d '\n')" = idle ] && { echo "SLURM up: $names"; exit 0; }
  sleep 0.2
done
echo "SLURM nodes did not become idle:" >&2
sinfo >&2 || true
tail -n 20 "$root"/log/*.log >&2
exit 1
