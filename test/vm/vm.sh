# shellcheck shell=bash
# The VM that takes the lab vps's place (sourced by test/vm/run.sh after the
# lab's lib.sh, setup.sh and tailnet.sh). The image comes from
# scripts/vm/build-image.sh ($IMG). The VM's only NIC is a tap device named
# "vps" in the lab's router namespace, where the lab's veth to the vps host
# would be: qemu runs inside that namespace, with no user-mode network, so the
# VM reaches exactly what the lab's vps reaches and nothing outside the lab.

VM_MAC=52:54:00:58:45:10
VM=$LAB/vm

# vm_accel: kvm if a KVM guest reaches userspace within a short probe, else
# tcg. (Under nested virtualisation /dev/kvm can exist while a vCPU hangs
# right after starting: only a boot shows it works.)
vm_accel() {
  [ -w /dev/kvm ] || { echo tcg; return; }
  local log=$VM/kvm-probe.log pid reached=0
  qemu-system-x86_64 -accel kvm -cpu host -m 256 -nodefaults -no-user-config -display none -no-reboot \
    -serial "file:$log" -kernel "$IMG/vmlinuz" -initrd "$IMG/initrd.img" -append "console=ttyS0 panic=-1" \
    >/dev/null 2>&1 &
  pid=$!
  # The kernel reaches userspace (its initramfs) in well under a second under
  # KVM and about 3 s under TCG: 15 s without it means the vCPU hangs.
  # (qemu may also abort at once, e.g. "failed to set MSR": then it is gone.)
  local end=$((SECONDS + 15))
  while [ "$SECONDS" -lt "$end" ] && kill -0 "$pid" 2>/dev/null; do
    if grep -q "Run /init as init process" "$log" 2>/dev/null; then reached=1; break; fi
    sleep 0.2
  done
  kill "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  if [ "$reached" = 1 ]; then echo kvm; else echo tcg; fi
}

# vm_seed: the NoCloud seed (a VFAT image labelled CIDATA) from $VM/seed/*.
vm_seed() {
  rm -f "$VM/seed.img"
  mkfs.vfat -n CIDATA -C "$VM/seed.img" 1024 >/dev/null &&
    mcopy -oi "$VM/seed.img" "$VM/seed/user-data" "$VM/seed/meta-data" "$VM/seed/network-config" "$VM/seed/vendor-data" ::
}

# vm_link: the router's side of the VM's NIC (a tap device), addressed as the lab's vps link.
vm_link() {
  local r=${LAB_PREFIX}inet
  ip -n "$r" tuntap add dev vps mode tap &&
    ip -n "$r" addr add 198.51.100.1/26 dev vps &&
    ip -n "$r" addr add 2001:db8:10::1/64 dev vps nodad &&
    ip -n "$r" link set vps up
}

# vm_start: boot the VM (a copy-on-write disk over the cached image; the
# kernel booted directly, with the command line a Debian install has: root
# mounted read-only first, remounted by systemd).
vm_start() {
  qemu-img create -q -f qcow2 -F raw -b "$IMG/rootfs.img" "$VM/disk.qcow2" || return 1
  local cpu=max
  [ "$VM_ACCEL" = kvm ] && cpu=host
  ip netns exec "${LAB_PREFIX}inet" qemu-system-x86_64 -name xmpp-edge-vps -accel "$VM_ACCEL" -cpu "$cpu" \
    -smp 2 -m 1536 -nodefaults -no-user-config -display none \
    -kernel "$IMG/vmlinuz" -initrd "$IMG/initrd.img" \
    -append "root=LABEL=root ro console=ttyS0 net.ifnames=0" \
    -drive "file=$VM/disk.qcow2,if=virtio,format=qcow2" \
    -drive "file=$VM/seed.img,if=virtio,format=raw,readonly=on" \
    -netdev tap,id=n0,ifname=vps,script=no,downscript=no -device "virtio-net-pci,netdev=n0,mac=$VM_MAC" \
    -serial "file:$VM/console.log" -monitor "unix:$VM/monitor.sock,server,nowait" \
    -pidfile "$VM/qemu.pid" -daemonize
}

vm_running() { kill -0 "$(cat "$VM/qemu.pid" 2>/dev/null)" 2>/dev/null; }

# vm_ssh_up SECONDS: the deployer gets in (pinned host key) within SECONDS.
vm_ssh_up() { wait_for "$1" vssh -o ConnectTimeout=3 -- true; }

# vm_boot_id: the kernel's boot id (changes with every boot).
vm_boot_id() { vssh -- cat /proc/sys/kernel/random/boot_id; }

# vm_reboot: an orderly reboot from inside (systemctl reboot); waits until
# the VM is back with another boot id. Sets VM_REBOOT_S.
vm_reboot() {
  local before t0 now
  before=$(vm_boot_id) || return 1
  t0=$(date +%s)
  vssh -- systemctl reboot >/dev/null 2>&1 || true
  local end=$((t0 + 300))
  while [ "$(date +%s)" -lt "$end" ]; do
    now=$(vssh -o ConnectTimeout=3 -- cat /proc/sys/kernel/random/boot_id 2>/dev/null) || now=""
    if [ -n "$now" ] && [ "$now" != "$before" ]; then
      # shellcheck disable=SC2034 # read by test/vm/run.sh
      VM_REBOOT_S=$(($(date +%s) - t0))
      return 0
    fi
    sleep 2
  done
  return 1
}
