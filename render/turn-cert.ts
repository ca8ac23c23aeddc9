// The TURN name's certificate on the edge (turnTls): the tool that makes the
// placeholder, gets the ACME certificate and installs it
// (host/xmpp-edge-turn-cert), its settings, and the timer that runs it. The
// push only starts the timer's service and never waits for it: a slow or
// failing CA cannot fail a push (docs/design.md, decision 19).
import type { EdgeModel } from "../model/model";
import { generatedHeader } from "./header";

export const TURN_CERT_TOOL_PATH = "/usr/local/sbin/xmpp-edge-turn-cert";
export const TURN_CERT_CONF_PATH = "/etc/xmpp-edge/turn-tls.conf";
export const TURN_CERT_UNIT = "xmpp-edge-turn-cert";
export const TURN_CERT_SERVICE_PATH = `/etc/systemd/system/${TURN_CERT_UNIT}.service`;
export const TURN_CERT_TIMER_PATH = `/etc/systemd/system/${TURN_CERT_UNIT}.timer`;

/** KEY=VALUE data the tool reads (never sources); NAME is a validated host name. */
export function renderTurnCertConf(model: EdgeModel): string {
  if (model.turnTlsName === undefined) throw new Error("renderTurnCertConf: turnTls is off in this model");
  return [generatedHeader("#", "The TURN-over-TLS name whose certificate xmpp-edge-turn-cert keeps."), `NAME=${model.turnTlsName}`, ""].join("\n");
}

export function renderTurnCertService(): string {
  return [
    generatedHeader("#", "Gets or renews the TURN name's certificate (ACME HTTP-01 from the edge's own webroot)."),
    "[Unit]",
    "Description=xmpp-edge: the TURN-over-TLS certificate (certbot, HTTP-01)",
    "Wants=network-online.target",
    "After=network-online.target nginx.service",
    "",
    "[Service]",
    "Type=oneshot",
    `ExecStart=${TURN_CERT_TOOL_PATH} obtain`,
    "",
  ].join("\n");
}

/**
 * Soon after boot and twice a day: the first certificate is retried until
 * it comes, and renewed 30 days before it expires (certbot's
 * --keep-until-expiring); a run with nothing due asks the CA nothing.
 */
export function renderTurnCertTimer(): string {
  return [
    generatedHeader("#", "Runs xmpp-edge-turn-cert.service: the first certificate, then renewals."),
    "[Unit]",
    "Description=xmpp-edge: get and renew the TURN-over-TLS certificate",
    "",
    "[Timer]",
    "OnBootSec=2min",
    "OnCalendar=*-*-* 00,12:00:00",
    "RandomizedDelaySec=1h",
    "Persistent=true",
    "",
    "[Install]",
    "WantedBy=timers.target",
    "",
  ].join("\n");
}
