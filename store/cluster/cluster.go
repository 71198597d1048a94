// Package cluster runs a private PostgreSQL cluster from the system's binaries (initdb, pg_ctl), so that
// `faxseal serve` and the tests need no database set up by hand.
//
// The cluster listens on a unix socket only (listen_addresses is empty): nothing on the network can reach
// it, and the socket directory is private to the cluster's owner. Authentication is "trust" for that
// socket, which is safe only because of that private directory.
//
// PostgreSQL refuses to run as root (initdb and postgres both check the effective uid). When this process
// is root, as it is in CI, the cluster runs as the unprivileged `postgres` system user that Debian's
// postgresql package creates, and the data directory is chowned to it.
package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// SuperUser is the name initdb gives the cluster's superuser, whoever runs it.
const SuperUser = "postgres"

// Options configure Start.
type Options struct {
	// Dir is the data directory. It is created if missing and initialised by initdb if empty.
	Dir string
	// Ephemeral trades durability for speed (fsync, full_page_writes and synchronous_commit off):
	// for throwaway test clusters only.
	Ephemeral bool
	// MaxConnections sets max_connections; 0 keeps PostgreSQL's default (100).
	MaxConnections int
	// Log receives progress lines ("initialising", "started"); nil discards them.
	Log func(format string, args ...any)
}

// Cluster is a running (or adopted) PostgreSQL cluster.
type Cluster struct {
	dir       string
	socketDir string
	bin       string
	owned     bool // we started it, so Stop stops it
	cred      *syscall.Credential
}

// ErrNoPostgres means the PostgreSQL server binaries are not installed.
var ErrNoPostgres = errors.New("cluster: PostgreSQL server binaries (initdb, pg_ctl) not found; install Debian's postgresql package")

// Start initialises the cluster in opts.Dir if needed and starts it. If a postmaster is already running on
// that directory (another process started it), Start adopts it and Stop leaves it running.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	logf := opts.Log
	if logf == nil {
		logf = func(string, ...any) {}
	}
	bin, err := findBinDir()
	if err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	c := &Cluster{dir: dir, bin: bin}
	if os.Geteuid() == 0 {
		cred, err := postgresCredential()
		if err != nil {
			return nil, err
		}
		c.cred = cred
	}
	c.socketDir = socketDirFor(dir)
	if err := c.prepareDirs(); err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(dir, "PG_VERSION")); errors.Is(err, os.ErrNotExist) {
		logf("initialising PostgreSQL cluster in %s", dir)
		if out, err := c.run(ctx, "initdb", "-D", dir, "-U", SuperUser, "--auth=trust", "-E", "UTF8",
			"--no-locale", "--no-sync"); err != nil {
			return nil, fmt.Errorf("cluster: initdb: %w\n%s", err, out)
		}
	}
	// Settings go into a file of our own, included from postgresql.conf, so a restart with other
	// options rewrites them instead of piling up duplicates.
	if err := c.writeConf(opts); err != nil {
		return nil, err
	}
	if c.running(ctx) {
		logf("PostgreSQL already running in %s; using it", dir)
		return c, nil
	}
	logFile := filepath.Join(dir, "postgres.log")
	if out, err := c.run(ctx, "pg_ctl", "start", "-w", "-t", "60", "-D", dir, "-l", logFile, "-s"); err != nil {
		tail, _ := os.ReadFile(logFile)
		if len(tail) > 2000 {
			tail = tail[len(tail)-2000:]
		}
		return nil, fmt.Errorf("cluster: pg_ctl start: %w\n%s\n%s", err, out, tail)
	}
	c.owned = true
	logf("PostgreSQL started in %s (socket %s)", dir, c.socketDir)
	return c, nil
}

// Stop stops the cluster in dir if one is running there, whoever started it.
func Stop(ctx context.Context, dir string) error {
	bin, err := findBinDir()
	if err != nil {
		return err
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	c := &Cluster{dir: dir, bin: bin, socketDir: socketDirFor(dir)}
	if os.Geteuid() == 0 {
		if c.cred, err = postgresCredential(); err != nil {
			return err
		}
	}
	if !c.running(ctx) {
		return nil
	}
	return c.StopAnyway(ctx)
}

// URL returns a connection URL for database db over the cluster's unix socket.
func (c *Cluster) URL(db string) string {
	u := url.URL{Scheme: "postgres", User: url.User(SuperUser), Path: "/" + db}
	q := url.Values{}
	q.Set("host", c.socketDir)
	q.Set("sslmode", "disable")
	u.RawQuery = q.Encode()
	return u.String()
}

// Dir is the data directory.
func (c *Cluster) Dir() string { return c.dir }

// Owned reports whether this process started the cluster (and Stop will stop it).
func (c *Cluster) Owned() bool { return c.owned }

// Stop shuts the cluster down with a fast shutdown (clients disconnected, no data lost) if this
// process started it.
func (c *Cluster) Stop(ctx context.Context) error {
	if !c.owned {
		return nil
	}
	return c.StopAnyway(ctx)
}

// StopIfIdle stops the cluster unless another client is connected to it, whoever started it. Every
// faxseal process that uses the embedded cluster calls it on exit (after closing its own pool): the
// last one out stops the cluster, even if the process that started it was killed, and a tool run
// beside a server leaves the server's cluster running. stopped reports which happened.
//
// ownApplication is the application_name of this process's own (just closed) sessions, whose
// backends may still be exiting and must not count as other clients.
func (c *Cluster) StopIfIdle(ctx context.Context, ownApplication string) (stopped bool, err error) {
	if !c.running(ctx) {
		return false, nil
	}
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		return false, fmt.Errorf("cluster: %w", err)
	}
	// A client that has just closed its connections (a tool that ran a moment ago) may still have
	// backends on their way out: look again for a short while before counting it as connected.
	var others int
	for try := 0; ; try++ {
		err = conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() AND application_name <> $1`,
			ownApplication).Scan(&others)
		if err != nil || others == 0 || try == 20 {
			break
		}
		select {
		case <-ctx.Done():
			err = ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if err != nil {
			break
		}
	}
	conn.Close(ctx)
	if err != nil {
		return false, fmt.Errorf("cluster: %w", err)
	}
	if others > 0 {
		return false, nil
	}
	if err := c.StopAnyway(ctx); err != nil {
		return false, err
	}
	return true, nil
}

// StopAnyway stops the cluster even if another process started it.
func (c *Cluster) StopAnyway(ctx context.Context) error {
	if out, err := c.run(ctx, "pg_ctl", "stop", "-w", "-t", "60", "-D", c.dir, "-m", "fast", "-s"); err != nil {
		return fmt.Errorf("cluster: pg_ctl stop: %w\n%s", err, out)
	}
	c.owned = false
	return nil
}

func (c *Cluster) running(ctx context.Context) bool {
	_, err := c.run(ctx, "pg_ctl", "status", "-D", c.dir)
	return err == nil
}

func (c *Cluster) writeConf(opts Options) error {
	var b strings.Builder
	b.WriteString("# written by faxseal on every start; edit postgresql.conf instead\n")
	b.WriteString("listen_addresses = ''\n")
	fmt.Fprintf(&b, "unix_socket_directories = '%s'\n", strings.ReplaceAll(c.socketDir, "'", "''"))
	b.WriteString("unix_socket_permissions = 0700\n")
	if opts.MaxConnections > 0 {
		fmt.Fprintf(&b, "max_connections = %d\n", opts.MaxConnections)
	}
	if opts.Ephemeral {
		b.WriteString("fsync = off\nfull_page_writes = off\nsynchronous_commit = off\n")
	}
	conf := filepath.Join(c.dir, "faxseal.conf")
	if err := c.writeOwned(conf, []byte(b.String())); err != nil {
		return err
	}
	main := filepath.Join(c.dir, "postgresql.conf")
	cur, err := os.ReadFile(main)
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	const include = "include_if_exists = 'faxseal.conf'\n"
	if !bytes.Contains(cur, []byte(include)) {
		cur = append(cur, "\n"+include...)
		if err := c.writeOwned(main, cur); err != nil {
			return err
		}
	}
	return nil
}

// prepareDirs creates the data and socket directories with mode 0700, owned by the cluster's user, and
// checks that user can reach them.
func (c *Cluster) prepareDirs() error {
	for _, d := range []string{c.dir, c.socketDir} {
		// Parents stay world-searchable (0755) so the postgres user can reach d when we are root.
		if err := os.MkdirAll(filepath.Dir(d), 0o755); err != nil {
			return fmt.Errorf("cluster: %w", err)
		}
		if err := os.Mkdir(d, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("cluster: %w", err)
		}
		if err := os.Chmod(d, 0o700); err != nil {
			return fmt.Errorf("cluster: %w", err)
		}
		if c.cred != nil {
			if err := os.Chown(d, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
				return fmt.Errorf("cluster: %w", err)
			}
			// The postgres user must be able to traverse every parent directory.
			for p := filepath.Dir(d); p != "/" && p != "."; p = filepath.Dir(p) {
				st, err := os.Stat(p)
				if err != nil {
					return fmt.Errorf("cluster: %w", err)
				}
				if st.Mode().Perm()&0o001 == 0 {
					return fmt.Errorf("cluster: the %s user cannot enter %s (mode %v); choose a data directory under a world-searchable path (FAXSEAL_DATA_DIR)", SuperUser, p, st.Mode().Perm())
				}
			}
		}
	}
	return nil
}

func (c *Cluster) writeOwned(path string, data []byte) error {
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	if c.cred != nil {
		if err := os.Chown(path, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
			return fmt.Errorf("cluster: %w", err)
		}
	}
	return nil
}

func (c *Cluster) run(ctx context.Context, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(c.bin, name), args...)
	cmd.Dir = "/" // the postgres user may not be able to read our working directory
	cmd.Env = []string{"PATH=" + c.bin + ":/usr/bin:/bin", "LC_ALL=C", "TZ=UTC"}
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
		cmd.Env = append(cmd.Env, "HOME=/var/lib/postgresql", "USER="+SuperUser)
	} else if h, err := os.UserHomeDir(); err == nil {
		cmd.Env = append(cmd.Env, "HOME="+h)
	}
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	// pg_ctl start leaves the postmaster running with our pipes as its stdio unless -l is given; we
	// always give -l, but WaitDelay guards against a child that keeps them open anyway.
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	return out.Bytes(), err
}

// socketDirFor picks the unix socket directory: the data directory itself when the socket path fits in
// sun_path (108 bytes on Linux, including ".s.PGSQL.5432"), else a short directory under /tmp named
// after the data directory.
func socketDirFor(dir string) string {
	if len(dir)+len("/.s.PGSQL.5432") < 100 {
		return dir
	}
	var h uint32 = 2166136261 // FNV-1a: a stable short name for a long path
	for i := 0; i < len(dir); i++ {
		h ^= uint32(dir[i])
		h *= 16777619
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("faxseal-pg-%08x", h))
}

func postgresCredential() (*syscall.Credential, error) {
	u, err := user.Lookup(SuperUser)
	if err != nil {
		return nil, fmt.Errorf("cluster: running as root, PostgreSQL must run as the %q system user, which does not exist (install Debian's postgresql package): %w", SuperUser, err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("cluster: bad uid/gid for %s: %s/%s", SuperUser, u.Uid, u.Gid)
	}
	// Supplementary groups are reset to the user's primary group: the server must not keep root's.
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{uint32(gid)}}, nil
}

// findBinDir finds the directory holding initdb and pg_ctl: Debian's versioned directory (newest
// version first), else PATH.
func findBinDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, d := range dirs {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "pg_ctl")) {
			return d, nil
		}
	}
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		d := filepath.Dir(p)
		if isExec(filepath.Join(d, "initdb")) {
			return d, nil
		}
	}
	return "", ErrNoPostgres
}

func versionOf(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

func isExec(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// EnsureDatabase creates database name in the cluster if it does not exist yet.
func (c *Cluster) EnsureDatabase(ctx context.Context, name string) error {
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	if exists {
		return nil
	}
	if _, err := conn.Exec(ctx, `CREATE DATABASE `+pgx.Identifier{name}.Sanitize()); err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "42P04" { // duplicate_database: another process won the race
			return nil
		}
		return fmt.Errorf("cluster: create database %s: %w", name, err)
	}
	return nil
}
