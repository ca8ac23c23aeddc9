// The flood bench (bench/flood.sh, `npm run bench:flood`): the attacker, the
// legitimate clients beside it, and home's XMPP end.
//
//	benchnet spoof -mode syn|udp|stun|junk -dst IP -ports P[,P...] -src CIDR -nsrc N [-rate R] -secs S [-count C]
//	    IPv4 packets with spoofed sources (raw socket, IP_HDRINCL) to the
//	    ports in turn: the i-th packet comes from the (i mod N)-th address
//	    of CIDR, from a random port. syn: a TCP SYN; udp: 32 bytes; stun: a
//	    STUN Allocate request without credentials (coturn answers 401 and
//	    keeps a session per 5-tuple); junk: 64 random bytes. At R packets/s
//	    (0: as fast as the socket takes them), for at most S seconds and C
//	    packets. Prints {"sent","secs","pps","errors"}.
//	benchnet legit -tls-addr A -xmpp A -turn A -secret S [-rate R] -secs S -src IP -nsrc K -sessions N -out FILE [-stop F] -tls [TLS flags]
//	    R new sessions per second of each kind (TLS handshakes to -tls-addr,
//	    TCP + XMPP stream open to -xmpp, TURN allocations to -turn), from K
//	    consecutive source addresses in turn, each bounded by 3 s; and N
//	    established XMPP sessions that send a ping every second. One JSON
//	    line per attempt to FILE: {"t" (unix ms),"k","ok","ms","err"}.
//	benchnet xmppsink -addr A
//	    home's XMPP end: answers a stream header with its own and features,
//	    then every <iq ... id='X'> with a result for X.
package main

import (
	"bufio"
	"crypto/rand"
	"crypto/tls"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func csum(b []byte, sum uint32) uint16 {
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

func runSpoof(args []string) error {
	fs := flag.NewFlagSet("spoof", flag.ExitOnError)
	mode := fs.String("mode", "syn", "syn|udp|stun|junk")
	dst := fs.String("dst", "", "destination IPv4")
	ports := fs.String("ports", "", "destination ports, comma-separated, used in turn")
	src := fs.String("src", "", "spoofed sources: an IPv4 CIDR")
	nsrc := fs.Int("nsrc", 65536, "distinct sources used in turn")
	rate := fs.Float64("rate", 0, "packets per second (0: as fast as possible)")
	secs := fs.Float64("secs", 10, "at most this many seconds")
	count := fs.Int64("count", 50_000_000, "at most this many packets")
	fs.Parse(args)
	d := net.ParseIP(*dst).To4()
	_, cidr, err := net.ParseCIDR(*src)
	if d == nil || err != nil || cidr.IP.To4() == nil {
		return fmt.Errorf("spoof: -dst and -src must be IPv4 (%q, %q)", *dst, *src)
	}
	var dports []uint16
	for _, p := range splitList(*ports) {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("spoof: bad port %q", p)
		}
		dports = append(dports, uint16(n))
	}
	if len(dports) == 0 || *nsrc < 1 || *secs <= 0 || *count < 1 {
		return errors.New("spoof: -ports, -nsrc >= 1, -secs > 0 and -count >= 1 are required")
	}
	ones, bits := cidr.Mask.Size()
	size := uint32(1) << (bits - ones)
	base := binary.BigEndian.Uint32(cidr.IP.To4())
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_RAW, syscall.IPPROTO_RAW)
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_SNDBUF, 4<<20)
	to := &syscall.SockaddrInet4{}
	copy(to.Addr[:], d)
	rnd := make([]byte, 4096)
	ri := len(rnd)
	random := func(n int) []byte {
		if ri+n > len(rnd) {
			rand.Read(rnd)
			ri = 0
		}
		ri += n
		return rnd[ri-n : ri]
	}
	pkt := make([]byte, 20+8+64)
	build := func(i int64) []byte {
		s := base + 1 + uint32(i%int64(*nsrc))%(size-2)
		dport := dports[i%int64(len(dports))]
		sport := 1024 + binary.BigEndian.Uint16(random(2))%64000
		var l4 []byte
		proto := byte(17)
		switch *mode {
		case "syn":
			proto = 6
			l4 = pkt[20 : 20+20]
			binary.BigEndian.PutUint16(l4[0:], sport)
			binary.BigEndian.PutUint16(l4[2:], dport)
			copy(l4[4:8], random(4))
			binary.BigEndian.PutUint32(l4[8:], 0)
			l4[12], l4[13] = 5<<4, 0x02
			binary.BigEndian.PutUint16(l4[14:], 64240)
			binary.BigEndian.PutUint32(l4[16:], 0)
		default:
			var payload []byte
			switch *mode {
			case "udp":
				payload = []byte("xmpp-edge bench spoofed datagram")
			case "stun":
				// Allocate, magic cookie, transaction id, REQUESTED-TRANSPORT UDP.
				payload = make([]byte, 28)
				binary.BigEndian.PutUint16(payload[0:], 0x0003)
				binary.BigEndian.PutUint16(payload[2:], 8)
				binary.BigEndian.PutUint32(payload[4:], 0x2112A442)
				copy(payload[8:20], random(12))
				binary.BigEndian.PutUint16(payload[20:], 0x0019)
				binary.BigEndian.PutUint16(payload[22:], 4)
				payload[24] = 17
			case "junk":
				payload = random(64)
			default:
				return nil
			}
			l4 = pkt[20 : 20+8+len(payload)]
			binary.BigEndian.PutUint16(l4[0:], sport)
			binary.BigEndian.PutUint16(l4[2:], dport)
			binary.BigEndian.PutUint16(l4[4:], uint16(len(l4)))
			binary.BigEndian.PutUint16(l4[6:], 0)
			copy(l4[8:], payload)
		}
		ip := pkt[:20]
		ip[0], ip[1] = 0x45, 0
		binary.BigEndian.PutUint16(ip[2:], uint16(20+len(l4)))
		binary.BigEndian.PutUint32(ip[4:], 0)
		ip[8], ip[9] = 64, proto
		binary.BigEndian.PutUint16(ip[10:], 0)
		binary.BigEndian.PutUint32(ip[12:], s)
		copy(ip[16:20], d)
		// The L4 checksum over the pseudo-header; the kernel fills in the IP header's.
		pseudo := uint32(s>>16) + uint32(s&0xffff) + uint32(binary.BigEndian.Uint16(d)) + uint32(binary.BigEndian.Uint16(d[2:])) + uint32(proto) + uint32(len(l4))
		at := 16
		if proto == 17 {
			at = 6
		}
		binary.BigEndian.PutUint16(l4[at:], csum(l4, pseudo))
		return pkt[:20+len(l4)]
	}
	if build(0) == nil {
		return fmt.Errorf("spoof: unknown -mode %q", *mode)
	}
	start := time.Now()
	limit := time.Duration(*secs * float64(time.Second))
	var sent, errs, i int64
	for i = 0; i < *count; i++ {
		if i%64 == 0 {
			el := time.Since(start)
			if el > limit {
				break
			}
			if *rate > 0 {
				due := time.Duration(float64(i) / *rate * float64(time.Second))
				if due > el {
					time.Sleep(due - el)
				}
			}
		}
		if err := syscall.Sendto(fd, build(i), 0, to); err != nil {
			errs++ // a full socket buffer: that packet is not sent
			continue
		}
		sent++
	}
	took := time.Since(start).Seconds()
	emit(map[string]any{"mode": *mode, "sent": sent, "secs": took, "pps": float64(sent) / took, "errors": errs})
	return nil
}

// ---- legitimate clients ------------------------------------------------------------

type legitEvent struct {
	T   int64   `json:"t"`
	K   string  `json:"k"`
	OK  bool    `json:"ok"`
	MS  float64 `json:"ms"`
	Err string  `json:"err,omitempty"`
}

type eventLog struct {
	mu sync.Mutex
	w  *bufio.Writer
}

func (l *eventLog) add(k string, t0 time.Time, err error) {
	e := legitEvent{T: t0.UnixMilli(), K: k, OK: err == nil, MS: float64(time.Since(t0).Microseconds()) / 1000}
	if err != nil {
		e.Err = err.Error()
		if len(e.Err) > 80 {
			e.Err = e.Err[:80]
		}
	}
	b, _ := json.Marshal(e)
	l.mu.Lock()
	l.w.Write(append(b, '\n'))
	l.mu.Unlock()
}

var iqID = regexp.MustCompile(`<iq [^>]*id='([^']*)'`)

const streamOpen = "<?xml version='1.0'?><stream:stream to='%s' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>"

// xmppOpen: TCP connect from src, a stream header, until home's features arrive.
func xmppOpen(addr, domain string, src net.IP, deadline time.Time) (net.Conn, *bufio.Reader, error) {
	d := net.Dialer{Deadline: deadline}
	if src != nil {
		d.LocalAddr = &net.TCPAddr{IP: src}
	}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	c.SetDeadline(deadline)
	if _, err := fmt.Fprintf(c, streamOpen, domain); err != nil {
		c.Close()
		return nil, nil, err
	}
	r := bufio.NewReader(c)
	// Home's <?xml?>, <stream:stream>, <stream:features>, </stream:features>.
	for i := 0; i < 8; i++ {
		s, err := r.ReadString('>')
		if err != nil {
			c.Close()
			return nil, nil, err
		}
		if strings.Contains(s, "</stream:features>") {
			return c, r, nil
		}
	}
	c.Close()
	return nil, nil, errors.New("no stream features")
}

func turnAllocate(server, secret string, src net.IP, deadline time.Time) error {
	var la *net.UDPAddr
	if src != nil {
		la = &net.UDPAddr{IP: src}
	}
	ra, err := net.ResolveUDPAddr("udp4", server)
	if err != nil {
		return err
	}
	c, err := net.DialUDP("udp4", la, ra)
	if err != nil {
		return err
	}
	defer c.Close()
	buf := make([]byte, 2048)
	request := func(build func(tx []byte) []byte) (*stunMsg, error) {
		tx := make([]byte, 12)
		rand.Read(tx)
		msg := build(tx)
		for {
			if time.Now().After(deadline) {
				return nil, errors.New("no answer from the TURN server")
			}
			c.Write(msg)
			c.SetReadDeadline(minTime(time.Now().Add(500*time.Millisecond), deadline))
			for {
				n, err := c.Read(buf)
				if err != nil {
					break
				}
				if m, err := stunParse(buf[:n]); err == nil && string(m.tx) == string(tx) {
					m.attrs = cloneAttrs(m.attrs)
					return m, nil
				}
			}
		}
	}
	// A user of its own per allocation, as many users would be: coturn's
	// user-quota would otherwise count every probe against one user.
	var ub [4]byte
	rand.Read(ub[:])
	user := fmt.Sprintf("%d:flood%x", time.Now().Add(time.Hour).Unix(), ub)
	auth, key, err := turnAllocateAuth(request, secret, user, 0)
	if err != nil {
		return err
	}
	// Release it (Refresh, lifetime 0): the probe measures allocation, not quota.
	rtx := make([]byte, 12)
	rand.Read(rtx)
	c.Write(stunBuild(0x0004, rtx, append([]stunAttr{{0x000D, []byte{0, 0, 0, 0}}}, auth()...), key[:]))
	return nil
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func runLegit(args []string) error {
	fs := flag.NewFlagSet("legit", flag.ExitOnError)
	tlsAddr := fs.String("tls-addr", "", "TLS host:port (443); -tls -sni -alpn -ca as tput's")
	xmppAddr := fs.String("xmpp", "", "XMPP host:port (5222)")
	turnAddr := fs.String("turn", "", "TURN host:port (3478, UDP)")
	secret := fs.String("secret", "", "coturn static-auth-secret")
	domain := fs.String("domain", "chat.example.com", "the stream's to=")
	rate := fs.Float64("rate", 10, "new sessions per second of each kind")
	secs := fs.Float64("secs", 10, "seconds")
	srcFirst := fs.String("src", "", "first source IPv4 address")
	nsrc := fs.Int("nsrc", 1, "consecutive source addresses used in turn")
	sessions := fs.Int("sessions", 0, "established XMPP sessions pinging every second")
	out := fs.String("out", "", "JSON lines file")
	stop := fs.String("stop", "", "stop early once this file exists")
	tf := addTLSFlags(fs)
	fs.Parse(args)
	tcfg, err := tf.config()
	if err != nil {
		return err
	}
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	defer f.Close()
	lg := &eventLog{w: bufio.NewWriter(f)}
	defer func() { lg.mu.Lock(); lg.w.Flush(); lg.mu.Unlock() }()
	var first net.IP
	if *srcFirst != "" {
		first = net.ParseIP(*srcFirst).To4()
	}
	var srcMu sync.Mutex
	srcN := 0
	nextSrc := func() net.IP {
		if first == nil {
			return nil
		}
		srcMu.Lock()
		defer srcMu.Unlock()
		srcN++
		v := binary.BigEndian.Uint32(first) + uint32(srcN%*nsrc)
		ip := make(net.IP, 4)
		binary.BigEndian.PutUint32(ip, v)
		return ip
	}
	end := time.Now().Add(time.Duration(*secs * float64(time.Second)))
	var stopped atomic.Bool
	if *stop != "" {
		go func() {
			for !stopped.Load() {
				if _, err := os.Stat(*stop); err == nil {
					stopped.Store(true)
				}
				time.Sleep(200 * time.Millisecond)
			}
		}()
	}
	running := func() bool { return !stopped.Load() && time.Now().Before(end) }
	var wg sync.WaitGroup
	// The established sessions: opened first, then a ping each second.
	for i := 0; i < *sessions && *xmppAddr != ""; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			t0 := time.Now()
			c, r, err := xmppOpen(*xmppAddr, *domain, nextSrc(), t0.Add(5*time.Second))
			if err != nil {
				lg.add("session", t0, err)
				return
			}
			defer c.Close()
			for n := 0; running(); n++ {
				time.Sleep(time.Until(t0.Add(time.Duration(n+1) * time.Second)))
				p0 := time.Now()
				c.SetDeadline(p0.Add(3 * time.Second))
				id := fmt.Sprintf("p%d-%d", i, n)
				_, err := fmt.Fprintf(c, "<iq type='get' id='%s'><ping xmlns='urn:xmpp:ping'/></iq>", id)
				if err == nil {
					var s string
					s, err = r.ReadString('>')
					if err == nil && !strings.Contains(s, id) {
						err = fmt.Errorf("unexpected %q", s)
					}
				}
				lg.add("ping", p0, err)
				if err != nil {
					return
				}
			}
		}(i)
	}
	kinds := map[string]func(time.Time) error{}
	if *tlsAddr != "" {
		kinds["tls"] = func(dl time.Time) error {
			d := net.Dialer{Deadline: dl}
			if s := nextSrc(); s != nil {
				d.LocalAddr = &net.TCPAddr{IP: s}
			}
			c, err := d.Dial("tcp", *tlsAddr)
			if err != nil {
				return err
			}
			defer c.Close()
			c.SetDeadline(dl)
			return tls.Client(c, tcfg).Handshake()
		}
	}
	if *xmppAddr != "" {
		kinds["xmpp"] = func(dl time.Time) error {
			c, _, err := xmppOpen(*xmppAddr, *domain, nextSrc(), dl)
			if err == nil {
				c.Close()
			}
			return err
		}
	}
	if *turnAddr != "" {
		kinds["turn"] = func(dl time.Time) error { return turnAllocate(*turnAddr, *secret, nextSrc(), dl) }
	}
	start := time.Now()
	for k, fn := range kinds {
		wg.Add(1)
		go func(k string, fn func(time.Time) error) {
			defer wg.Done()
			var inner sync.WaitGroup
			for n := 0; ; n++ {
				due := start.Add(time.Duration(float64(n) / *rate * float64(time.Second)))
				time.Sleep(time.Until(due))
				if !running() {
					break
				}
				inner.Add(1)
				go func() {
					defer inner.Done()
					t0 := time.Now()
					lg.add(k, t0, fn(t0.Add(3*time.Second)))
				}()
			}
			inner.Wait()
		}(k, fn)
	}
	wg.Wait()
	stopped.Store(true)
	return nil
}

// ---- home's XMPP end -------------------------------------------------------------------

func runXmppSink(args []string) error {
	fs := flag.NewFlagSet("xmppsink", flag.ExitOnError)
	addr := fs.String("addr", "0.0.0.0:5222", "listen address")
	fs.Parse(args)
	l, err := listenRetry("tcp", *addr)
	if err != nil {
		return err
	}
	for {
		c, err := l.Accept()
		if err != nil {
			return err
		}
		go func(c net.Conn) {
			defer c.Close()
			r := bufio.NewReaderSize(c, 4096)
			if _, err := r.ReadString('>'); err != nil { // <?xml ...?>
				return
			}
			if _, err := r.ReadString('>'); err != nil { // <stream:stream ...>
				return
			}
			fmt.Fprint(c, "<?xml version='1.0'?><stream:stream from='chat.example.com' id='s' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'><stream:features></stream:features>")
			for {
				s, err := r.ReadString('>')
				if err != nil {
					return
				}
				if m := iqID.FindStringSubmatch(s); m != nil {
					if _, err := fmt.Fprintf(c, "<iq type='result' id='%s'/>", m[1]); err != nil {
						return
					}
				}
			}
		}(c)
	}
}
