import { renderSysctl } from "../../render/sysctl";
import { model } from "../fixtures";

test("the TURN relay range is reserved from the kernel's ephemeral ports, as configured; without TURN nothing is reserved", () => {
  expect(renderSysctl(model({ turnRelayPorts: "50000-50999" }))).toMatch(/\nnet\.ipv4\.ip_local_reserved_ports = 50000-50999\n/);
  expect(renderSysctl(model())).toMatch(/\nnet\.ipv4\.ip_local_reserved_ports = 49152-65535\n/);
  expect(renderSysctl(model({ turn: "off" }))).not.toContain("ip_local_reserved_ports");
});
