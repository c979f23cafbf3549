#!/usr/bin/env bash
# Single-node SLURM test cluster for tests/test_slurm.py (and for trying the
# slurm profile by hand). Needs root and Debian/Ubuntu apt; no systemd needed.
#
#   scripts/slurm_testcluster.sh start    # install if missing, start, wait for idle
#   scripts/slurm_testcluster.sh status   # exit 0 iff all daemons run and the node is up
#   scripts/slurm_testcluster.sh stop     # stop only the daemons this script started
#
# It runs munged, a private MariaDB (own datadir + port) and slurmdbd (so that
# sacct works: the executor plugin polls job status with sacct), slurmctld and
# slurmd. The node advertises SLURM_TESTCLUSTER_CPUS/_MEM_MB/_GPUS whatever the
# hardware (config_overrides; no cgroup enforcement) and a GPU GRES backed by
# /dev/null, so resource requests can be tested on any machine.
# Partitions: "debug" (default) and "gpu"; account "mrnaprobe" for root.
set -euo pipefail

STATE=${SLURM_TESTCLUSTER_STATE:-/var/tmp/mrnaprobe-slurm}
CPUS=${SLURM_TESTCLUSTER_CPUS:-16}
MEM_MB=${SLURM_TESTCLUSTER_MEM_MB:-128000}
GPUS=${SLURM_TESTCLUSTER_GPUS:-1}
ACCOUNT=mrnaprobe
CLUSTER=mrnaprobe
DB_PORT=${SLURM_TESTCLUSTER_DB_PORT:-16033}
NODE=$(hostname -s)
MARK="# managed by mrnaprobe scripts/slurm_testcluster.sh"
ETC=/etc/slurm
DAEMONS=(munged mariadbd slurmdbd slurmctld slurmd) # start order

log() { echo "slurm_testcluster: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

alive() { # a process that exists and is not a zombie awaiting its reaper
  local st
  read -r _ _ st _ 2>/dev/null <"/proc/$1/stat" && [[ $st != Z ]]
}

pid_of() { # recorded PID of a daemon we started, if it is still alive
  local f="$STATE/$1.pid" pid
  [[ -s $f ]] || return 1
  pid=$(<"$f")
  alive "$pid" && [[ $(</proc/"$pid"/comm) == "$1" ]] && echo "$pid"
}

wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...
  local t=$1 what=$2
  shift 2
  for ((i = 0; i < t * 4; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.25
  done
  die "timed out after ${t}s waiting for $what (logs: /var/log/slurm, $STATE/mariadb)"
}

# Daemonising programs write their own pid file; we copy it into $STATE so that
# `stop` only ever touches what `start` launched.
record() { # record NAME PIDFILE
  wait_for 20 "$1 pid file" test -s "$2"
  cp "$2" "$STATE/$1.pid"
}

install_packages() {
  local need=()
  command -v slurmctld >/dev/null || need+=(slurmctld)
  command -v slurmd >/dev/null || need+=(slurmd)
  command -v sbatch >/dev/null || need+=(slurm-client)
  command -v munged >/dev/null || need+=(munge)
  command -v slurmdbd >/dev/null || need+=(slurmdbd)
  command -v mariadbd >/dev/null || need+=(mariadb-server)
  ((${#need[@]})) || return 0
  command -v apt-get >/dev/null || die "apt-get not found; install ${need[*]} yourself"
  log "installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
}

write_file() { # write_file PATH (content on stdin); never clobber a foreign config
  if [[ -e $1 ]] && ! grep -qF "$MARK" "$1"; then
    die "$1 exists and was not written by this script; move it away first"
  fi
  { echo "$MARK"; cat; } >"$1"
}

write_configs() {
  mkdir -p "$ETC" /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /run/slurm
  chown slurm: /var/spool/slurmctld /var/log/slurm /run/slurm
  write_file "$ETC/slurm.conf" <<EOF
ClusterName=$CLUSTER
SlurmctldHost=$NODE(127.0.0.1)
SlurmUser=slurm
AuthType=auth/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurm/slurmctld.pid
SlurmdPidFile=/run/slurm/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/linux
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStorageTRES=gres/gpu
AccountingStoreFlags=job_comment
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SlurmdParameters=config_overrides
DefMemPerCPU=1000
ReturnToService=2
MpiDefault=none
GresTypes=gpu
MinJobAge=300
KillWait=5
Waittime=0
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM_MB Gres=gpu:$GPUS State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=$NODE MaxTime=INFINITE State=UP
EOF
  # GRES files must be distinct devices; /dev/null etc. are fine for bookkeeping.
  local devs=(/dev/null /dev/zero /dev/full /dev/random /dev/urandom)
  ((GPUS <= ${#devs[@]})) || die "at most ${#devs[@]} fake GPUs"
  {
    echo "AutoDetect=off"
    for ((g = 0; g < GPUS; g++)); do echo "NodeName=$NODE Name=gpu File=${devs[g]}"; done
  } | write_file "$ETC/gres.conf"
  # slurm 22.05 rejects CgroupPlugin=disabled; v1 without automount is inert here.
  printf 'CgroupPlugin=cgroup/v1\nCgroupAutomount=no\n' | write_file "$ETC/cgroup.conf"
  write_file "$ETC/slurmdbd.conf" <<EOF
AuthType=auth/munge
DbdHost=localhost
DbdAddr=127.0.0.1
SlurmUser=slurm
LogFile=/var/log/slurm/slurmdbd.log
PidFile=/run/slurm/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageUser=slurm
StoragePass=slurm
StorageLoc=slurm_acct_db
EOF
  chown slurm: "$ETC/slurmdbd.conf"
  chmod 600 "$ETC/slurmdbd.conf"
}

start_munge() {
  pid_of munged >/dev/null && return 0
  if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    log "using the munged that is already running"
    return 0
  fi
  mkdir -p /run/munge /var/log/munge /var/lib/munge
  [[ -s /etc/munge/munge.key ]] || mungekey --create
  chown munge: /run/munge /var/log/munge /var/lib/munge /etc/munge/munge.key
  su -s /bin/sh munge -c /usr/sbin/munged
  record munged /run/munge/munged.pid
}

DB="$STATE/mariadb" # owned by mysql: datadir, socket, pid file, log
sql() { mariadb --protocol=socket -S "$DB/mysqld.sock" -uroot "$@"; }

start_mariadb() {
  if ! pid_of mariadbd >/dev/null; then
    mkdir -p "$DB"
    chown mysql: "$DB"
    if [[ ! -d $DB/data/mysql ]]; then
      mariadb-install-db --user=mysql --datadir="$DB/data" --skip-test-db \
        --auth-root-authentication-method=socket >"$DB/install.log" 2>&1
    fi
    rm -f "$DB/mariadbd.pid"
    mariadbd --no-defaults --user=mysql --datadir="$DB/data" --socket="$DB/mysqld.sock" \
      --pid-file="$DB/mariadbd.pid" --bind-address=127.0.0.1 --port="$DB_PORT" \
      --log-error="$DB/mariadbd.log" --innodb-buffer-pool-size=64M </dev/null >/dev/null 2>&1 &
    record mariadbd "$DB/mariadbd.pid"
  fi
  wait_for 60 "MariaDB" sql -e 'SELECT 1'
  sql -e "CREATE DATABASE IF NOT EXISTS slurm_acct_db;
    CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY 'slurm';
    GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';"
}

start_slurmdbd() {
  if ! pid_of slurmdbd >/dev/null; then
    rm -f /run/slurm/slurmdbd.pid
    slurmdbd
    record slurmdbd /run/slurm/slurmdbd.pid
  fi
  wait_for 60 "slurmdbd" sacctmgr -n list cluster
  # "Nothing new added" makes sacctmgr exit 1 on reruns: ignore.
  sacctmgr -i add cluster "$CLUSTER" >/dev/null || true
  sacctmgr -i add account "$ACCOUNT" cluster="$CLUSTER" >/dev/null || true
  sacctmgr -i add user root account="$ACCOUNT" cluster="$CLUSTER" >/dev/null || true
}

node_state() { sinfo -h -n "$NODE" -p debug -o %T 2>/dev/null; }
node_up() { [[ $(node_state) =~ ^(idle|mixed|allocated|completing) ]]; }

start_slurm() {
  if ! pid_of slurmctld >/dev/null; then
    rm -f /run/slurm/slurmctld.pid
    slurmctld -i
    record slurmctld /run/slurm/slurmctld.pid
  fi
  wait_for 30 "slurmctld" scontrol ping
  if ! pid_of slurmd >/dev/null; then
    rm -f /run/slurm/slurmd.pid
    slurmd
    record slurmd /run/slurm/slurmd.pid
  fi
  # A node left DOWN/DRAINED by an earlier run must be resumed by hand.
  sleep 1
  if [[ $(node_state) =~ ^(down|drain) ]]; then
    scontrol update nodename="$NODE" state=resume || true
  fi
  wait_for 60 "node $NODE to come up (sinfo)" node_up
}

cmd_start() {
  [[ $EUID -eq 0 ]] || die "must run as root"
  mkdir -p "$STATE"
  local t0=$SECONDS
  install_packages
  local t1=$SECONDS
  write_configs
  start_munge
  start_mariadb
  start_slurmdbd
  start_slurm
  log "up: node $NODE, partitions debug (default) and gpu, account $ACCOUNT" \
    "(install $((t1 - t0))s, start $((SECONDS - t1))s)"
}

cmd_stop() {
  local i name pid
  if pid_of slurmctld >/dev/null; then
    scancel --partition=debug,gpu 2>/dev/null || true
  fi
  for ((i = ${#DAEMONS[@]} - 1; i >= 0; i--)); do
    name=${DAEMONS[i]}
    pid=$(pid_of "$name") || { rm -f "$STATE/$name.pid"; continue; }
    log "stopping $name ($pid)"
    kill "$pid"
    for ((i2 = 0; i2 < 80; i2++)); do alive "$pid" || break; sleep 0.25; done
    if alive "$pid"; then kill -9 "$pid"; fi
    rm -f "$STATE/$name.pid"
  done
}

cmd_status() {
  local rc=0 name pid
  for name in "${DAEMONS[@]}"; do
    if pid=$(pid_of "$name"); then
      echo "$name: running ($pid)"
    elif [[ $name == munged ]] && munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
      echo "munged: running (not started by this script)"
    else
      echo "$name: stopped"
      rc=1
    fi
  done
  if ((rc == 0)) && node_up; then sinfo; else echo "node $NODE: not up"; rc=1; fi
  return $rc
}

case ${1:-} in
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
*) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
