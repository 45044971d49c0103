/* The records the BPF programs put on the ring buffer, one struct per kind.
 *
 * src/wire.rs mirrors every offset here by hand (plain byte decoding, no unsafe), and the
 * _Static_asserts at the end pin the layout so a change on one side fails the build
 * instead of decoding garbage. All fields are naturally aligned: no implicit padding.
 * Strings are NUL-terminated inside fixed buffers; their contents come from the
 * process being watched and are untrusted. */
#ifndef VIGIL_EVENTS_H
#define VIGIL_EVENTS_H

#define COMM_LEN 16
/* Paths are walked component by component, leaf first (see path_walk in sensor.bpf.c):
 * components are read while the offset is below PATH_USED, each at most PATH_COMP bytes,
 * so the buffer is their sum. */
#define PATH_USED 256
#define PATH_COMP 128
#define PATH_BUF (PATH_USED + PATH_COMP)
#define PATH_DEPTH 32
#define ARGS_LEN 1024
#define OPEN_PATH 256
#define SC_STR 256
#define SC_STR2 128
#define SC_AUX 32

enum event_kind {
	EV_EXEC = 1,
	EV_FORK = 2,
	EV_EXIT = 3,
	EV_OPEN = 4,
	EV_CONNECT = 5,
	EV_SYSCALL = 6,
	EV_SOCK = 7,
};

/* sock_event.op */
#define SOCK_LISTEN 1
#define SOCK_ACCEPT 2

/* Which syscall an EV_SYSCALL record is about (our numbering, not the arch's). */
enum syscall_kind {
	SC_MEMFD_CREATE = 1,
	SC_PTRACE = 2,
	SC_SETUID = 3,
	SC_SETGID = 4,
	SC_UNSHARE = 5,
	SC_SETNS = 6,
	SC_MOUNT = 7,
	SC_INIT_MODULE = 8,
	SC_FINIT_MODULE = 9,
	SC_BPF = 10,
	SC_SOCKET = 11,
};

/* exec_event.flags */
#define EXEC_MEMFD 1        /* the executed file's name starts with "memfd:" */
#define EXEC_ARGS_TRUNC 2   /* argv was longer than ARGS_LEN */
#define EXEC_EXE_TRUNC 4    /* the exe path was cut (depth or length) */
#define EXEC_CWD_TRUNC 8    /* the cwd was cut */

/* 56 bytes, first in every record. */
struct event_header {
	__u32 kind;
	__u32 ppid;       /* the parent's tgid (real_parent) */
	__u64 ts_ns;      /* bpf_ktime_get_boot_ns: since boot, suspend included */
	__u64 cgroup_id;  /* cgroup v2 id of the task */
	__u32 pid;        /* tgid: the process id as user space sees it */
	__u32 tid;
	__u32 uid;
	__u32 gid;
	char comm[COMM_LEN];
};

struct exec_event {
	struct event_header h;
	__u32 euid;
	__u32 egid;
	__u64 cap_effective;
	__u64 ino;
	__u64 ctime_ns;   /* of the executed file's inode, wall clock */
	__u64 mtime_ns;
	__u32 nlink;      /* 0: the file is deleted or anonymous (fileless) */
	__u32 flags;      /* EXEC_* */
	__u32 args_len;   /* bytes used in args (NUL-separated argv) */
	__u16 exe_len;    /* bytes used in exe (components, leaf first, NUL after each) */
	__u16 cwd_len;
	char exe[PATH_BUF];
	char cwd[PATH_BUF];
	char filename[OPEN_PATH]; /* the path as given to execve */
	char args[ARGS_LEN];
};

struct fork_event {
	struct event_header h; /* the parent's */
	__u32 child_pid;
	__u32 child_tid;
};

struct exit_event {
	struct event_header h;
	__u32 exit_code;  /* the kernel's: status << 8 | signal */
	__u32 _pad;
};

/* open_event.flags */
#define OPEN_TRUNC_PATH 1

struct open_event {
	struct event_header h;
	__u32 open_flags; /* O_* as passed */
	__u32 watch;      /* index of the matched entry in the watch table */
	__s64 ret;        /* fd or -errno */
	char path[OPEN_PATH];
};

struct connect_event {
	struct event_header h;
	__u16 family;     /* AF_INET or AF_INET6 */
	__u16 port;       /* host order */
	__u32 fd;
	__s64 ret;        /* 0 or -errno (-EINPROGRESS for non-blocking) */
	__u8 addr[16];    /* 4 bytes for AF_INET */
};

struct syscall_event {
	struct event_header h;
	__u32 sc;         /* SC_* */
	__u32 _pad;
	__u64 args[3];    /* see the per-syscall notes in sensor.bpf.c */
	char str[SC_STR];
	char str2[SC_STR2];
	char aux[SC_AUX];
};

/* listen (at entry, the socket's bound address) and accept (at exit, the new
 * connection's local and peer addresses), inet sockets only. */
struct sock_event {
	struct event_header h;
	__u16 family;     /* AF_INET or AF_INET6 */
	__u16 lport;      /* host order */
	__u16 rport;      /* host order; 0 for listen */
	__u16 op;         /* SOCK_* */
	__u32 fd;         /* the listening socket, or the accepted one */
	__s32 backlog;    /* listen's backlog; 0 for accept */
	__u8 laddr[16];
	__u8 raddr[16];
};

/* The key of the watched-path LPM trie: prefixlen in bits, then the path bytes. */
struct path_key {
	__u32 prefixlen;
	char data[OPEN_PATH];
};

#define ASSERT_OFF(t, f, o) _Static_assert(__builtin_offsetof(struct t, f) == (o), #t "." #f)
#define ASSERT_SIZE(t, s) _Static_assert(sizeof(struct t) == (s), #t " size")
ASSERT_OFF(event_header, ts_ns, 8);
ASSERT_OFF(event_header, cgroup_id, 16);
ASSERT_OFF(event_header, pid, 24);
ASSERT_OFF(event_header, comm, 40);
ASSERT_SIZE(event_header, 56);
ASSERT_OFF(exec_event, euid, 56);
ASSERT_OFF(exec_event, cap_effective, 64);
ASSERT_OFF(exec_event, nlink, 96);
ASSERT_OFF(exec_event, args_len, 104);
ASSERT_OFF(exec_event, exe_len, 108);
ASSERT_OFF(exec_event, cwd_len, 110);
ASSERT_OFF(exec_event, exe, 112);
ASSERT_OFF(exec_event, cwd, 112 + PATH_BUF);
ASSERT_OFF(exec_event, filename, 112 + 2 * PATH_BUF);
ASSERT_OFF(exec_event, args, 112 + 2 * PATH_BUF + OPEN_PATH);
ASSERT_SIZE(exec_event, 112 + 2 * PATH_BUF + OPEN_PATH + ARGS_LEN);
ASSERT_SIZE(fork_event, 64);
ASSERT_SIZE(exit_event, 64);
ASSERT_OFF(open_event, ret, 64);
ASSERT_SIZE(open_event, 72 + OPEN_PATH);
ASSERT_OFF(connect_event, fd, 60);
ASSERT_OFF(connect_event, ret, 64);
ASSERT_SIZE(connect_event, 88);
ASSERT_OFF(syscall_event, args, 64);
ASSERT_OFF(syscall_event, str, 88);
ASSERT_SIZE(syscall_event, 88 + SC_STR + SC_STR2 + SC_AUX);
ASSERT_SIZE(path_key, 4 + OPEN_PATH);
ASSERT_OFF(sock_event, fd, 64);
ASSERT_OFF(sock_event, laddr, 72);
ASSERT_SIZE(sock_event, 104);

#endif
