// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* Vigil's runtime collector: tracepoint programs that put one record per event on a ring
 * buffer (layouts in events.h). Built only on tracepoints and raw tracepoints (sched and
 * syscalls): they load on kernels where kprobes are missing and fentry/BPF-LSM are refused
 * under lockdown, and they are a stable interface across kernel versions. Kernel structs
 * are read with CO-RE (BPF_CORE_READ) against the running kernel's BTF.
 *
 * The licence string is GPL-compatible because bpf_probe_read_* are GPL-only helpers. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "events.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define AF_INET 2
#define AF_INET6 10

/* The sensor's own process: its bpf() calls (reading the drop counters) are not news. */
const volatile __u32 self_tgid = 0;

/* One ring buffer shared by all CPUs (ordered, one copy, no per-CPU waste); user space
 * sets its size before load. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20);
} events SEC(".maps");

/* Records that did not fit in the ring buffer (reserve failed), per CPU, slot 0. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

/* Watched path prefixes, filled from user space (src/watch.rs). Longest-prefix match
 * over bytes: an entry whose bytes end with the path's NUL matches that path only. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1024);
	__type(key, struct path_key);
	__type(value, __u32);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} watched SEC(".maps");

/* Per-CPU scratch: the lookup key (260 bytes) and the open record being built do not fit
 * the 512-byte BPF stack together. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct path_key);
} path_scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct open_event);
} open_scratch SEC(".maps");

/* A watched open or an inet connect between syscall entry and exit, by thread id; the exit
 * adds the result and emits the record. LRU so a lost exit cannot fill the map. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct open_event);
} pending_open SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, struct connect_event);
} pending_connect SEC(".maps");

static __always_inline void count_drop(void)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&drops, &zero);
	if (n)
		*n += 1;
}

static __always_inline void *reserve(__u64 size)
{
	void *e = bpf_ringbuf_reserve(&events, size, 0);
	if (!e)
		count_drop();
	return e;
}

static __always_inline void fill_header(struct event_header *h, __u32 kind)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u64 id = bpf_get_current_pid_tgid();
	__u64 ug = bpf_get_current_uid_gid();
	h->kind = kind;
	h->ppid = BPF_CORE_READ(task, real_parent, tgid);
	h->ts_ns = bpf_ktime_get_boot_ns();
	h->cgroup_id = bpf_get_current_cgroup_id();
	h->pid = id >> 32;
	h->tid = (__u32)id;
	h->uid = (__u32)ug;
	h->gid = ug >> 32;
	bpf_get_current_comm(h->comm, sizeof(h->comm));
}

static __always_inline struct vfsmount *mount_vfs(struct mount *m)
{
	return (struct vfsmount *)((void *)m + bpf_core_field_offset(struct mount, mnt));
}

static __always_inline struct mount *vfs_mount(struct vfsmount *v)
{
	return (struct mount *)((void *)v - bpf_core_field_offset(struct mount, mnt));
}

/* Path walks write into this per-CPU buffer, then the result is copied into the record. */
struct walk_buf {
	char buf[PATH_BUF];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct walk_buf);
} walk_scratch SEC(".maps");

struct walk_ctx {
	struct dentry *dentry;
	struct vfsmount *vfsmnt;
	struct mount *mnt;
	struct dentry *root_dentry;
	struct vfsmount *root_mnt;
	__u32 off;
	__u32 complete;
};

/* One step of a path walk, as a bpf_loop callback: the verifier checks the body once
 * instead of once per unrolled iteration and offset range (an inline loop of 32 steps
 * over two paths exceeded its million-instruction budget).
 *
 * The path of (dentry, vfsmnt) is written as its components, leaf first, each followed
 * by a NUL ("sh\0bin\0" for /bin/sh); user space reverses them. The walk stops at the
 * task's root (so paths inside a container are the container's), at the top of the mount
 * tree, or at the root of an anonymous file system (memfd, pipes). */
static long walk_step(__u64 i, void *data)
{
	struct walk_ctx *c = data;
	/* Locals, not c->field inside BPF_CORE_READ: that would ask CO-RE to relocate
	 * walk_ctx, which the kernel's BTF does not have. */
	struct dentry *dentry = c->dentry;
	struct vfsmount *vfsmnt = c->vfsmnt;
	struct mount *mnt = c->mnt;
	if (dentry == c->root_dentry && vfsmnt == c->root_mnt) {
		c->complete = 1;
		return 1;
	}
	struct dentry *mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
	if (dentry == mnt_root) {
		struct mount *parent = BPF_CORE_READ(mnt, mnt_parent);
		if (parent == mnt) {
			c->complete = 1;
			return 1;
		}
		c->dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
		c->mnt = parent;
		c->vfsmnt = mount_vfs(parent);
		return 0;
	}
	__u32 off = c->off;
	if (off >= PATH_USED)
		return 1;
	__u32 zero = 0;
	struct walk_buf *w = bpf_map_lookup_elem(&walk_scratch, &zero);
	if (!w)
		return 1;
	struct dentry *up = BPF_CORE_READ(dentry, d_parent);
	const unsigned char *name = BPF_CORE_READ(dentry, d_name.name);
	long n = bpf_probe_read_kernel_str(w->buf + (off & (PATH_USED - 1)), PATH_COMP, name);
	if (n <= 0)
		return 1;
	c->off = off + n;
	if (dentry == up) {
		c->complete = 1;
		return 1;
	}
	c->dentry = up;
	return 0;
}

/* Walks (dentry, vfsmnt) up to the task's root into dst (PATH_BUF bytes); returns the
 * bytes used and sets *trunc when the path was cut. */
static __always_inline __u32 path_walk(char *dst, struct dentry *dentry, struct vfsmount *vfsmnt,
				       struct dentry *root_dentry, struct vfsmount *root_mnt,
				       bool *trunc)
{
	struct walk_ctx c = {
		.dentry = dentry,
		.vfsmnt = vfsmnt,
		.mnt = vfs_mount(vfsmnt),
		.root_dentry = root_dentry,
		.root_mnt = root_mnt,
		.off = 0,
		.complete = 0,
	};
	bpf_loop(PATH_DEPTH, walk_step, &c, 0);
	*trunc = !c.complete;
	__u32 zero = 0;
	struct walk_buf *w = bpf_map_lookup_elem(&walk_scratch, &zero);
	if (!w)
		return 0;
	bpf_probe_read_kernel(dst, PATH_BUF, w->buf);
	return c.off > PATH_BUF ? PATH_BUF : c.off;
}

SEC("tracepoint/sched/sched_process_exec")
int handle_exec(struct trace_event_raw_sched_process_exec *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct exec_event *e = reserve(sizeof(*e));
	if (!e)
		return 0;
	fill_header(&e->h, EV_EXEC);
	const struct cred *cred = BPF_CORE_READ(task, cred);
	e->euid = BPF_CORE_READ(cred, euid.val);
	e->egid = BPF_CORE_READ(cred, egid.val);
	e->cap_effective = BPF_CORE_READ(cred, cap_effective.val);
	e->flags = 0;

	struct file *file = BPF_CORE_READ(task, mm, exe_file);
	struct inode *inode = BPF_CORE_READ(file, f_inode);
	e->ino = BPF_CORE_READ(inode, i_ino);
	e->nlink = BPF_CORE_READ(inode, __i_nlink);
	e->ctime_ns = 0;
	e->mtime_ns = 0;
	if (bpf_core_field_exists(inode->i_ctime_sec)) {
		/* The top bit of i_ctime_nsec is the multigrain "queried" flag (6.13+):
		 * nanoseconds fit in 30 bits. */
		e->ctime_ns = BPF_CORE_READ(inode, i_ctime_sec) * 1000000000ULL +
			      (BPF_CORE_READ(inode, i_ctime_nsec) & 0x3fffffff);
		e->mtime_ns = BPF_CORE_READ(inode, i_mtime_sec) * 1000000000ULL +
			      (BPF_CORE_READ(inode, i_mtime_nsec) & 0x3fffffff);
	}

	struct dentry *root_d = BPF_CORE_READ(task, fs, root.dentry);
	struct vfsmount *root_m = BPF_CORE_READ(task, fs, root.mnt);
	bool trunc = false;
	e->exe_len = path_walk(e->exe, BPF_CORE_READ(file, f_path.dentry),
			       BPF_CORE_READ(file, f_path.mnt), root_d, root_m, &trunc);
	if (trunc)
		e->flags |= EXEC_EXE_TRUNC;
	if (e->exe_len >= 6 && e->exe[0] == 'm' && e->exe[1] == 'e' && e->exe[2] == 'm' &&
	    e->exe[3] == 'f' && e->exe[4] == 'd' && e->exe[5] == ':')
		e->flags |= EXEC_MEMFD;

	trunc = false;
	e->cwd_len = path_walk(e->cwd, BPF_CORE_READ(task, fs, pwd.dentry),
			       BPF_CORE_READ(task, fs, pwd.mnt), root_d, root_m, &trunc);
	if (trunc)
		e->flags |= EXEC_CWD_TRUNC;

	unsigned short loc = ctx->__data_loc_filename & 0xFFFF;
	if (bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), (void *)ctx + loc) < 0)
		e->filename[0] = 0;

	unsigned long arg_start = BPF_CORE_READ(task, mm, arg_start);
	unsigned long arg_end = BPF_CORE_READ(task, mm, arg_end);
	unsigned long len = arg_end > arg_start ? arg_end - arg_start : 0;
	if (len > ARGS_LEN) {
		len = ARGS_LEN;
		e->flags |= EXEC_ARGS_TRUNC;
	}
	if (bpf_probe_read_user(e->args, len & (2 * ARGS_LEN - 1), (void *)arg_start) < 0)
		len = 0;
	e->args_len = len;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/* Raw tracepoint: the child's task_struct tells a new process from a new thread. */
SEC("raw_tp/sched_process_fork")
int handle_fork(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *child = (struct task_struct *)ctx->args[1];
	__u32 pid = BPF_CORE_READ(child, pid);
	__u32 tgid = BPF_CORE_READ(child, tgid);
	if (pid != tgid)
		return 0;
	struct fork_event *e = reserve(sizeof(*e));
	if (!e)
		return 0;
	fill_header(&e->h, EV_FORK);
	e->child_pid = tgid;
	e->child_tid = pid;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/* Fires per thread; the process has exited when its last thread goes (signal->live 0). */
SEC("raw_tp/sched_process_exit")
int handle_exit(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	if (BPF_CORE_READ(task, signal, live.counter) != 0)
		return 0;
	struct exit_event *e = reserve(sizeof(*e));
	if (!e)
		return 0;
	fill_header(&e->h, EV_EXIT);
	e->exit_code = BPF_CORE_READ(task, exit_code);
	e->_pad = 0;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/* --- opens of watched paths ------------------------------------------------------------ */

static __always_inline int open_enter(const char *upath, __u32 flags)
{
	__u32 zero = 0;
	struct path_key *k = bpf_map_lookup_elem(&path_scratch, &zero);
	if (!k)
		return 0;
	if (bpf_probe_read_user_str(k->data, sizeof(k->data), upath) <= 0)
		return 0;
	k->prefixlen = OPEN_PATH * 8;
	__u32 *watch = bpf_map_lookup_elem(&watched, k);
	if (!watch)
		return 0;
	struct open_event *e = bpf_map_lookup_elem(&open_scratch, &zero);
	if (!e)
		return 0;
	fill_header(&e->h, EV_OPEN);
	e->open_flags = flags;
	e->watch = *watch;
	e->ret = 0;
	__builtin_memcpy(e->path, k->data, OPEN_PATH);
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	bpf_map_update_elem(&pending_open, &tid, e, BPF_ANY);
	return 0;
}

static __always_inline int open_exit(long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct open_event *p = bpf_map_lookup_elem(&pending_open, &tid);
	if (!p)
		return 0;
	struct open_event *e = reserve(sizeof(*e));
	if (e) {
		__builtin_memcpy(e, p, sizeof(*e));
		e->ret = ret;
		bpf_ringbuf_submit(e, 0);
	}
	bpf_map_delete_elem(&pending_open, &tid);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_openat")
int enter_openat(struct trace_event_raw_sys_enter *ctx)
{
	return open_enter((const char *)ctx->args[1], (__u32)ctx->args[2]);
}

SEC("tracepoint/syscalls/sys_exit_openat")
int exit_openat(struct trace_event_raw_sys_exit *ctx)
{
	return open_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_openat2")
int enter_openat2(struct trace_event_raw_sys_enter *ctx)
{
	__u64 flags = 0;
	bpf_probe_read_user(&flags, sizeof(flags), (void *)ctx->args[2]);
	return open_enter((const char *)ctx->args[1], (__u32)flags);
}

SEC("tracepoint/syscalls/sys_exit_openat2")
int exit_openat2(struct trace_event_raw_sys_exit *ctx)
{
	return open_exit(ctx->ret);
}

/* open(2) exists on x86_64 but not on arm64; user space attaches it when present. */
SEC("tracepoint/syscalls/sys_enter_open")
int enter_open(struct trace_event_raw_sys_enter *ctx)
{
	return open_enter((const char *)ctx->args[0], (__u32)ctx->args[1]);
}

SEC("tracepoint/syscalls/sys_exit_open")
int exit_open(struct trace_event_raw_sys_exit *ctx)
{
	return open_exit(ctx->ret);
}

/* --- connect ---------------------------------------------------------------------------- */

SEC("tracepoint/syscalls/sys_enter_connect")
int enter_connect(struct trace_event_raw_sys_enter *ctx)
{
	const void *sa = (const void *)ctx->args[1];
	__u16 family = 0;
	if (bpf_probe_read_user(&family, sizeof(family), sa) < 0)
		return 0;
	if (family != AF_INET && family != AF_INET6)
		return 0;
	struct connect_event e;
	__builtin_memset(&e, 0, sizeof(e));
	fill_header(&e.h, EV_CONNECT);
	e.family = family;
	e.fd = (__u32)ctx->args[0];
	if (family == AF_INET) {
		struct sockaddr_in sin;
		if (bpf_probe_read_user(&sin, sizeof(sin), sa) < 0)
			return 0;
		e.port = bpf_ntohs(sin.sin_port);
		__builtin_memcpy(e.addr, &sin.sin_addr.s_addr, 4);
	} else {
		struct sockaddr_in6 sin6;
		if (bpf_probe_read_user(&sin6, sizeof(sin6), sa) < 0)
			return 0;
		e.port = bpf_ntohs(sin6.sin6_port);
		__builtin_memcpy(e.addr, &sin6.sin6_addr, 16);
	}
	__u32 tid = e.h.tid;
	bpf_map_update_elem(&pending_connect, &tid, &e, BPF_ANY);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_connect")
int exit_connect(struct trace_event_raw_sys_exit *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct connect_event *p = bpf_map_lookup_elem(&pending_connect, &tid);
	if (!p)
		return 0;
	struct connect_event *e = reserve(sizeof(*e));
	if (e) {
		__builtin_memcpy(e, p, sizeof(*e));
		e->ret = ctx->ret;
		bpf_ringbuf_submit(e, 0);
	}
	bpf_map_delete_elem(&pending_connect, &tid);
	return 0;
}

/* --- listen and accept --------------------------------------------------------------------- */

#define S_IFMT 0170000
#define S_IFSOCK 0140000

/* The struct sock behind descriptor fd of the current task, or NULL if fd is not a
 * socket. */
static __always_inline struct sock *fd_sock(__u32 fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	if (fd >= BPF_CORE_READ(fdt, max_fds))
		return 0;
	struct file **fds = BPF_CORE_READ(fdt, fd);
	struct file *f = 0;
	if (bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]) < 0 || !f)
		return 0;
	umode_t mode = BPF_CORE_READ(f, f_inode, i_mode);
	if ((mode & S_IFMT) != S_IFSOCK)
		return 0;
	struct socket *sock = BPF_CORE_READ(f, private_data);
	return BPF_CORE_READ(sock, sk);
}

/* Fills a sock_event's addresses from sk; false if sk is not inet. */
static __always_inline bool fill_sock(struct sock_event *e, struct sock *sk)
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (family != AF_INET && family != AF_INET6)
		return false;
	e->family = family;
	e->lport = BPF_CORE_READ(sk, __sk_common.skc_num);
	e->rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	__builtin_memset(e->laddr, 0, sizeof(e->laddr));
	__builtin_memset(e->raddr, 0, sizeof(e->raddr));
	if (family == AF_INET) {
		__u32 l = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
		__u32 r = BPF_CORE_READ(sk, __sk_common.skc_daddr);
		__builtin_memcpy(e->laddr, &l, 4);
		__builtin_memcpy(e->raddr, &r, 4);
	} else {
		BPF_CORE_READ_INTO(&e->laddr, sk, __sk_common.skc_v6_rcv_saddr);
		BPF_CORE_READ_INTO(&e->raddr, sk, __sk_common.skc_v6_daddr);
	}
	return true;
}

static __always_inline int emit_sock(__u16 op, __u32 fd, __s32 backlog)
{
	struct sock *sk = fd_sock(fd);
	if (!sk)
		return 0;
	struct sock_event e;
	__builtin_memset(&e, 0, sizeof(e));
	if (!fill_sock(&e, sk))
		return 0;
	if (op == SOCK_LISTEN)
		e.rport = 0;
	struct sock_event *r = reserve(sizeof(*r));
	if (!r)
		return 0;
	fill_header(&e.h, EV_SOCK);
	e.op = op;
	e.fd = fd;
	e.backlog = backlog;
	__builtin_memcpy(r, &e, sizeof(e));
	bpf_ringbuf_submit(r, 0);
	return 0;
}

/* listen(fd, backlog): the socket is bound by now, so its address is known. */
SEC("tracepoint/syscalls/sys_enter_listen")
int enter_listen(struct trace_event_raw_sys_enter *ctx)
{
	return emit_sock(SOCK_LISTEN, (__u32)ctx->args[0], (__s32)ctx->args[1]);
}

/* accept/accept4 return the new connection's descriptor. */
SEC("tracepoint/syscalls/sys_exit_accept")
int exit_accept(struct trace_event_raw_sys_exit *ctx)
{
	if (ctx->ret < 0)
		return 0;
	return emit_sock(SOCK_ACCEPT, (__u32)ctx->ret, 0);
}

SEC("tracepoint/syscalls/sys_exit_accept4")
int exit_accept4(struct trace_event_raw_sys_exit *ctx)
{
	if (ctx->ret < 0)
		return 0;
	return emit_sock(SOCK_ACCEPT, (__u32)ctx->ret, 0);
}

/* --- security-relevant syscalls, at entry, with their main arguments ----------------------- */

static __always_inline struct syscall_event *sc_begin(__u32 sc)
{
	struct syscall_event *e = reserve(sizeof(*e));
	if (!e)
		return 0;
	fill_header(&e->h, EV_SYSCALL);
	e->sc = sc;
	e->_pad = 0;
	e->args[0] = 0;
	e->args[1] = 0;
	e->args[2] = 0;
	e->str[0] = 0;
	e->str2[0] = 0;
	e->aux[0] = 0;
	return e;
}

static __always_inline void read_ustr(char *dst, __u32 size, const void *src)
{
	if (!src || bpf_probe_read_user_str(dst, size, src) < 0)
		dst[0] = 0;
}

/* A syscall whose event is its first `n` (1 or 2) arguments, unchanged. */
static __always_inline int sc_emit_args(__u32 sc, struct trace_event_raw_sys_enter *ctx, int n)
{
	struct syscall_event *e = sc_begin(sc);
	if (!e)
		return 0;
	e->args[0] = ctx->args[0];
	if (n > 1)
		e->args[1] = ctx->args[1];
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/* memfd_create(name, flags): str = name, args[0] = flags */
SEC("tracepoint/syscalls/sys_enter_memfd_create")
int enter_memfd_create(struct trace_event_raw_sys_enter *ctx)
{
	struct syscall_event *e = sc_begin(SC_MEMFD_CREATE);
	if (!e)
		return 0;
	read_ustr(e->str, SC_STR, (const void *)ctx->args[0]);
	e->args[0] = ctx->args[1];
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/* ptrace(request, pid, ...): args[0] = request, args[1] = target pid */
SEC("tracepoint/syscalls/sys_enter_ptrace")
int enter_ptrace(struct trace_event_raw_sys_enter *ctx)
{
	return sc_emit_args(SC_PTRACE, ctx, 2);
}

/* setuid(uid) / setgid(gid): args[0] */
SEC("tracepoint/syscalls/sys_enter_setuid")
int enter_setuid(struct trace_event_raw_sys_enter *ctx)
{
	return sc_emit_args(SC_SETUID, ctx, 1);
}

SEC("tracepoint/syscalls/sys_enter_setgid")
int enter_setgid(struct trace_event_raw_sys_enter *ctx)
{
	return sc_emit_args(SC_SETGID, ctx, 1);
}

/* unshare(flags): args[0] = CLONE_* flags */
SEC("tracepoint/syscalls/sys_enter_unshare")
int enter_unshare(struct trace_event_raw_sys_enter *ctx)
{
	return sc_emit_args(SC_UNSHARE, ctx, 1);
}

/* setns(fd, nstype): args[0] = fd, args[1] = nstype */
SEC("tracepoint/syscalls/sys_enter_setns")
int enter_setns(struct trace_event_raw_sys_enter *ctx)
{
	return sc_emit_args(SC_SETNS, ctx, 2);
}

/* mount(source, target, fstype, flags, data): str = target, str2 = source, aux = fstype,
 * args[0] = flags */
SEC("tracepoint/syscalls/sys_enter_mount")
int enter_mount(struct trace_event_raw_sys_enter *ctx)
{
	struct syscall_event *e = sc_begin(SC_MOUNT);
	if (!e)
		return 0;
	read_ustr(e->str, SC_STR, (const void *)ctx->args[1]);
	read_ustr(e->str2, SC_STR2, (const void *)ctx->args[0]);
	read_ustr(e->aux, SC_AUX, (const void *)ctx->args[2]);
	e->args[0] = ctx->args[3];
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/* init_module(image, len, params): args[0] = len, str = params. Absent on kernels built
 * without module support; user space attaches it when present. */
SEC("tracepoint/syscalls/sys_enter_init_module")
int enter_init_module(struct trace_event_raw_sys_enter *ctx)
{
	struct syscall_event *e = sc_begin(SC_INIT_MODULE);
	if (!e)
		return 0;
	e->args[0] = ctx->args[1];
	read_ustr(e->str, SC_STR, (const void *)ctx->args[2]);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/* finit_module(fd, params, flags): args[0] = fd, args[1] = flags, str = params */
SEC("tracepoint/syscalls/sys_enter_finit_module")
int enter_finit_module(struct trace_event_raw_sys_enter *ctx)
{
	struct syscall_event *e = sc_begin(SC_FINIT_MODULE);
	if (!e)
		return 0;
	e->args[0] = ctx->args[0];
	e->args[1] = ctx->args[2];
	read_ustr(e->str, SC_STR, (const void *)ctx->args[1]);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/* socket(domain, type, protocol): args[0] = domain, args[1] = type (with its SOCK_*
 * flags), args[2] = protocol. Only packet sockets (AF_PACKET) and raw inet sockets are
 * reported; every other socket (and netlink's raw ones, which glibc opens to list
 * interfaces) is dropped here. */
#define AF_INET_ 2
#define AF_INET6_ 10
#define AF_PACKET_ 17
#define SOCK_RAW_ 3
SEC("tracepoint/syscalls/sys_enter_socket")
int enter_socket(struct trace_event_raw_sys_enter *ctx)
{
	__u64 domain = ctx->args[0];
	__u64 type = ctx->args[1] & 0xf;
	if (domain != AF_PACKET_ && !(type == SOCK_RAW_ && (domain == AF_INET_ || domain == AF_INET6_)))
		return 0;
	struct syscall_event *e = sc_begin(SC_SOCKET);
	if (!e)
		return 0;
	e->args[0] = domain;
	e->args[1] = ctx->args[1];
	e->args[2] = ctx->args[2];
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/* bpf(cmd, attr, size): args[0] = cmd; the sensor's own calls are skipped */
SEC("tracepoint/syscalls/sys_enter_bpf")
int enter_bpf(struct trace_event_raw_sys_enter *ctx)
{
	if ((bpf_get_current_pid_tgid() >> 32) == self_tgid)
		return 0;
	struct syscall_event *e = sc_begin(SC_BPF);
	if (!e)
		return 0;
	e->args[0] = ctx->args[0];
	bpf_ringbuf_submit(e, 0);
	return 0;
}
