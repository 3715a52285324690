#!/usr/bin/env bash
# A throwaway, loopback-only Postfix for the SMTP benchmark, from the Debian package
# (apt-get install postfix libsasl2-modules sasl2-bin). Everything lives under DIR: its own
# config_directory, queue_directory, data_directory, a Cyrus SASL sasldb, and a Maildir.
# With RELAYHOST ([address]:port), mail for other domains goes there (relayhost), in clear.
#
#   postfix-instance.sh start DIR PORT CERT_CHAIN KEY USER PASSWORD [RELAYHOST]   prints "MASTER <pid>"
#   postfix-instance.sh stop DIR
set -euo pipefail
cmd=${1:?usage: postfix-instance.sh start|stop DIR ...}
dir=$(realpath -m "${2:?DIR}")
conf=$dir/conf

case "$cmd" in
start)
  port=${3:?PORT}; chain=${4:?CERT_CHAIN}; key=${5:?KEY}; user=${6:?USER}; password=${7:?PASSWORD}
  relayhost=${8:-}
  domain=${user#*@}
  command -v postfix >/dev/null || { echo "postfix is not installed: apt-get install postfix libsasl2-modules sasl2-bin" >&2; exit 1; }
  command -v saslpasswd2 >/dev/null || { echo "saslpasswd2 is not installed: apt-get install sasl2-bin" >&2; exit 1; }
  mkdir -p "$conf" "$dir/queue" "$dir/data" "$dir/vmail" "$conf/sasl"
  # Postfix's daemons run as the postfix user: it must reach the directories (temp dirs are 0700).
  chmod o+x "$(dirname "$dir")"; chmod 755 "$dir" "$conf" "$conf/sasl"
  chown postfix "$dir/data" "$dir/vmail"
  cp "$chain" "$conf/chain.pem"; cp "$key" "$conf/key.pem"; chmod 600 "$conf/key.pem"
  # Cyrus SASL for smtpd: auxprop over a sasldb that only this instance reads.
  printf '%s' "$password" | saslpasswd2 -p -c -f "$conf/sasl/sasldb2" -u "$domain" "${user%@*}"
  chown postfix "$conf/sasl/sasldb2"; chmod 600 "$conf/sasl/sasldb2"
  cat > "$conf/sasl/smtpd.conf" <<CONF
pwcheck_method: auxprop
auxprop_plugin: sasldb
sasldb_path: $conf/sasl/sasldb2
mech_list: PLAIN LOGIN
CONF
  cat > "$conf/main.cf" <<CONF
compatibility_level = 3.6
queue_directory = $dir/queue
data_directory = $dir/data
mail_owner = postfix
setgid_group = postdrop
myhostname = localhost
mydomain = localhost
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_banner = \$myhostname ESMTP
maillog_file = /dev/stdout
alias_maps =
alias_database =
local_recipient_maps =
virtual_mailbox_domains = $domain
virtual_mailbox_base = $dir/vmail
virtual_mailbox_maps = static:mail/
virtual_uid_maps = static:$(id -u postfix)
virtual_gid_maps = static:$(id -g postfix)
virtual_minimum_uid = 1
smtpd_tls_chain_files = $conf/key.pem, $conf/chain.pem
smtpd_tls_security_level = encrypt
smtpd_tls_auth_only = yes
smtpd_tls_protocols = >=TLSv1.2
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = cyrus
smtpd_sasl_path = smtpd
cyrus_sasl_config_path = $conf/sasl
smtpd_recipient_restrictions = permit_sasl_authenticated, reject
smtpd_relay_restrictions = permit_sasl_authenticated, reject
message_size_limit = 52428800
virtual_mailbox_limit = 0
relayhost = $relayhost
smtp_tls_security_level = none
CONF
  # master.cf: the Debian default's services, unchrooted (the chroot would need copies of
  # /etc files), with smtpd on the benchmark port only.
  sed -e 's/^smtp      inet.*/'"127.0.0.1:$port"'      inet  n       -       n       -       -       smtpd/' \
      -e 's/^\([a-z]*[ ]*\(unix\|fifo\|pass\)[ ]*[-n][ ]*[-n][ ]*\)[-y]/\1n/' \
      /etc/postfix/master.cf > "$conf/master.cf"
  postfix -c "$conf" check >/dev/null 2>&1 || true
  # "postfix start" exits 1 without a word when no syslog runs; start-fg with the log on
  # stdout works everywhere. The master stays in the background until "stop".
  setsid postfix -c "$conf" start-fg > "$dir/maillog" 2>&1 < /dev/null &
  for _ in $(seq 1 100); do
    [ -s "$dir/queue/pid/master.pid" ] && { echo "MASTER $(tr -d ' ' < "$dir/queue/pid/master.pid")"; exit 0; }
    sleep 0.1
  done
  echo "postfix did not start; see $dir/maillog" >&2; exit 1
  ;;
stop)
  postfix -c "$conf" stop >/dev/null 2>&1 || true
  ;;
*) echo "unknown command $cmd" >&2; exit 2 ;;
esac
