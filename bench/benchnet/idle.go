// Idle sessions, the XMPP shape (bench/scale.sh, `npm run bench:scale`): many
// long-lived TLS connections that carry nothing after the handshake, from
// many client addresses, paced under the edge's per-source limits.
//
//	benchnet idlesink -tls ADDRS -cert F -key F [-reuseport]
//	    accepts TLS, completes the handshake, then echoes whatever arrives
//	    (a 1-byte ping) with a small buffer: the home end of an idle session
//	    costs a goroutine and a TLS state, not bench/benchnet sink's 256 KiB.
//	benchnet idle -addr A -n N -src IP -nsrc K -rate R [-inflight C] [TLS flags] -status FILE [-release F] [-hold D]
//	    opens N sessions at R per second in all, from K consecutive source
//	    IPv4 addresses starting at IP in turn (each address opens R/K per
//	    second and holds N/K at most); every session is a TCP connect and a
//	    TLS handshake through to the sink. Then pings every open session
//	    once (proof that it is alive end to end), writes one JSON line to
//	    FILE, and holds the sessions until the file -release exists,
//	    SIGTERM/SIGINT or -hold; then closes them and writes FILE.closed.
//	    It gives up opening after -maxfail failures in a row (a limit was
//	    hit: the error counts say which), and still reports and holds what
//	    it has.
package main

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func runIdleSink(args []string) error {
	fs := flag.NewFlagSet("idlesink", flag.ExitOnError)
	tlsAddrs := fs.String("tls", "", "TLS listeners (comma-separated addresses)")
	cert := fs.String("cert", "", "TLS certificate (PEM)")
	key := fs.String("key", "", "TLS key (PEM)")
	reuse := fs.Bool("reuseport", false, "SO_REUSEPORT: several sink processes share the ports (one process holds as many sessions as its open-files limit allows)")
	fs.Parse(args)
	c, err := tls.LoadX509KeyPair(*cert, *key)
	if err != nil {
		return err
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{c}, NextProtos: []string{"xmpp-client", "xmpp-server"}}
	var live, hsErrs atomic.Int64
	errs := make(chan error, 8)
	for _, a := range splitList(*tlsAddrs) {
		go func(a string) {
			var l net.Listener
			var err error
			if *reuse {
				lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
					var serr error
					if err := rc.Control(func(fd uintptr) {
						serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, soReusePort, 1)
					}); err != nil {
						return err
					}
					return serr
				}}
				l, err = lc.Listen(context.Background(), "tcp", a)
			} else {
				l, err = listenRetry("tcp", a)
			}
			if err != nil {
				errs <- err
				return
			}
			fmt.Fprintf(os.Stderr, "idlesink: tls on %s (reuseport %v)\n", a, *reuse)
			for {
				conn, err := l.Accept()
				if err != nil {
					// EMFILE and the like: say so, keep accepting.
					fmt.Fprintf(os.Stderr, "idlesink: accept: %v\n", err)
					time.Sleep(50 * time.Millisecond)
					continue
				}
				go func() {
					defer conn.Close()
					tc := tls.Server(conn, cfg)
					tc.SetDeadline(time.Now().Add(30 * time.Second))
					if err := tc.Handshake(); err != nil {
						if hsErrs.Add(1) <= 20 {
							fmt.Fprintf(os.Stderr, "idlesink: handshake with %s: %v\n", conn.RemoteAddr(), err)
						}
						return
					}
					tc.SetDeadline(time.Time{})
					live.Add(1)
					defer live.Add(-1)
					buf := make([]byte, 64)
					for {
						n, err := tc.Read(buf)
						if err != nil {
							return
						}
						if _, err := tc.Write(buf[:n]); err != nil {
							return
						}
					}
				}()
			}
		}(a)
	}
	// The count of live sessions, for the log: where the home end stands.
	go func() {
		last := int64(-1)
		for range time.Tick(5 * time.Second) {
			if n := live.Load(); n != last {
				fmt.Fprintf(os.Stderr, "idlesink: %d live sessions, %d failed handshakes\n", n, hsErrs.Load())
				last = n
			}
		}
	}()
	return <-errs
}

// errClass names an error by its cause, so that counts group (timeouts,
// resets, refused, EADDRNOTAVAIL, EMFILE, TLS alerts ...).
func errClass(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "reset"
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return "no source port (EADDRNOTAVAIL)"
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE):
		return "client out of file descriptors"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "closed by the far end (EOF)"
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	}
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 {
		s = s[i+2:]
	}
	return s
}

func nextIPv4(ip net.IP, k int) net.IP {
	v := binary.BigEndian.Uint32(ip.To4()) + uint32(k)
	out := make(net.IP, 4)
	binary.BigEndian.PutUint32(out, v)
	return out
}

func runIdle(args []string) error {
	fs := flag.NewFlagSet("idle", flag.ExitOnError)
	addr := fs.String("addr", "", "host:port")
	n := fs.Int("n", 1000, "sessions to open")
	src := fs.String("src", "", "first source IPv4 address (empty: the kernel's choice)")
	nsrc := fs.Int("nsrc", 1, "consecutive source addresses, used in turn")
	rate := fs.Float64("rate", 300, "new sessions per second, all addresses together")
	inflight := fs.Int("inflight", 64, "connects and handshakes in flight at most")
	maxfail := fs.Int("maxfail", 300, "stop opening after this many failures in a row")
	status := fs.String("status", "", "the JSON result, written once the sessions are open and pinged")
	hold := fs.Duration("hold", 30*time.Minute, "hold the sessions at most this long")
	release := fs.String("release", "", "close the sessions and exit once this file exists")
	tf := addTLSFlags(fs)
	fs.Parse(args)
	cfg, err := tf.config()
	if err != nil {
		return err
	}
	if *status == "" {
		return errors.New("-status FILE is required")
	}
	var first net.IP
	if *src != "" {
		if first = net.ParseIP(*src).To4(); first == nil {
			return fmt.Errorf("-src %q: not an IPv4 address", *src)
		}
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)

	var mu sync.Mutex
	conns := make([]net.Conn, 0, *n)
	lat := make([]float64, 0, *n)
	errCount := map[string]int{}
	firstErr := map[string]string{}
	var inRow atomic.Int64
	gaveUp := false
	sem := make(chan struct{}, *inflight)
	var wg sync.WaitGroup
	interval := time.Duration(float64(time.Second) / *rate)
	start := time.Now()
	next := start
	attempted := 0
	open := func(i int) {
		defer func() { <-sem; wg.Done() }()
		d := net.Dialer{Timeout: 5 * time.Second}
		if first != nil {
			d.LocalAddr = &net.TCPAddr{IP: nextIPv4(first, i%*nsrc)}
		}
		t0 := time.Now()
		c, err := d.Dial("tcp", *addr)
		if err == nil && cfg != nil {
			tc := tls.Client(c, cfg)
			tc.SetDeadline(time.Now().Add(10 * time.Second))
			if err = tc.Handshake(); err == nil && *tf.alpn != "" && tc.ConnectionState().NegotiatedProtocol == "" {
				err = errors.New("no ALPN protocol negotiated")
			}
			tc.SetDeadline(time.Time{})
			if err != nil {
				c.Close()
			} else {
				c = tc
			}
		}
		el := time.Since(t0).Seconds() * 1000
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			k := errClass(err)
			errCount[k]++
			if _, ok := firstErr[k]; !ok {
				firstErr[k] = err.Error()
			}
			inRow.Add(1)
			return
		}
		inRow.Store(0)
		conns = append(conns, c)
		lat = append(lat, el)
	}
	lastLog := start
opening:
	for i := 0; i < *n; i++ {
		if int(inRow.Load()) >= *maxfail {
			gaveUp = true
			break
		}
		select {
		case <-stop:
			gaveUp = true
			break opening
		default:
		}
		if d := time.Until(next); d > 0 {
			time.Sleep(d)
		}
		next = next.Add(interval)
		sem <- struct{}{}
		wg.Add(1)
		attempted++
		go open(i)
		if time.Since(lastLog) > 5*time.Second {
			mu.Lock()
			fmt.Fprintf(os.Stderr, "idle: %d attempted, %d open, %d failed in a row\n", attempted, len(conns), inRow.Load())
			mu.Unlock()
			lastLog = time.Now()
		}
	}
	wg.Wait()
	openSecs := time.Since(start).Seconds()

	// One ping per session: a byte there and back through the edge.
	var alive atomic.Int64
	pingErr := map[string]int{}
	var pmu sync.Mutex
	jobs := make(chan net.Conn)
	var pwg sync.WaitGroup
	for w := 0; w < 128; w++ {
		pwg.Add(1)
		go func() {
			defer pwg.Done()
			b := []byte{'p'}
			for c := range jobs {
				c.SetDeadline(time.Now().Add(10 * time.Second))
				_, err := c.Write(b)
				if err == nil {
					_, err = io.ReadFull(c, b)
				}
				c.SetDeadline(time.Time{})
				if err != nil {
					pmu.Lock()
					pingErr[errClass(err)]++
					pmu.Unlock()
					continue
				}
				alive.Add(1)
			}
		}()
	}
	for _, c := range conns {
		jobs <- c
	}
	close(jobs)
	pwg.Wait()

	sort.Float64s(lat)
	res := map[string]any{
		"target": *n, "attempted": attempted, "open": len(conns), "alive": alive.Load(),
		"failed": attempted - len(conns), "gave_up": gaveUp, "errors": errCount, "first_errors": firstErr,
		"ping_errors": pingErr, "open_secs": openSecs, "rate": *rate, "nsrc": *nsrc,
		"open_per_s": float64(len(conns)) / openSecs,
		"p50_ms":     pct(lat, 50), "p99_ms": pct(lat, 99), "max_ms": pct(lat, 100),
	}
	b, _ := json.Marshal(res)
	tmp := *status + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, *status); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "idle: %s\n", b)
	deadline := time.After(*hold)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
holding:
	for {
		select {
		case <-stop:
			break holding
		case <-deadline:
			break holding
		case <-tick.C:
			if *release != "" {
				if _, err := os.Stat(*release); err == nil {
					break holding
				}
			}
		}
	}
	for _, c := range conns {
		c.Close()
	}
	return os.WriteFile(*status+".closed", []byte(fmt.Sprintf("%d\n", len(conns))), 0o644)
}

// SO_REUSEPORT on Linux (the syscall package does not name it).
const soReusePort = 0xf
