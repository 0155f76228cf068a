#!/usr/bin/env bash
# Stop what cluster_up.sh started (by PID file): jobs first, then slurmd, slurmctld and munged.
set -uo pipefail
root=${SLURM_TEST_ROOT:?set SLURM_TEST_ROOT to a scratch folder}
export SLURM_CONF=$root/slurm.conf
if scontrol ping >/dev/null 2>&1; then
  scancel --partition=test 2>/dev/null || true
  for _ in $(seq 75); do [ -z "$(squeue -h -o %i 2>/dev/null)" ] && break; sleep 0.2; done
fi
for pidfile in "$root"/run/slurmd-*.pid "$root/run/slurmctld.pid" "$root/run/munged.pid"; do
  [ -s "$pidfile" ] || continue
  pid=$(cat "$pidfile")
  kill -TERM "$pid" 2>/dev/null || continue
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  kill -KILL "$pid" 2>/dev/null || true
done
[ -s "$root/run/socket_dir" ] && rm -rf "$(cat "$root/run/socket_dir")"
echo "SLURM down"
