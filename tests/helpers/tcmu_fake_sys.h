/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tcmu_fake_sys.h - a fake /sys, /sys/kernel/config and /dev for
 * prhelper-tcmu tests without a kernel (header only; uses cmocka).
 *
 * A backstore is: sys/class/uio/uioN/{name,maps/map0/size},
 * cfg/target/core/user_H/NAME/attrib/{dev_size,hw_block_size,
 * nl_reply_supported}, dev/uioN (a FIFO: events and kicks, as the daemon's
 * --fake-uio expects) and dev/uioN.map (the shared mapping, formatted by
 * tcmu_fake.h and mapped here too, so tests queue commands and read the
 * answers).
 */
#ifndef PRHELPER_TESTS_TCMU_FAKE_SYS_H
#define PRHELPER_TESTS_TCMU_FAKE_SYS_H

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "prh_test_util.h"
#include "tcmu_fake.h"

#define FS_RING 65536u
#define FS_DATA (1u << 20)
#define FS_MAP (FAKE_MB_SIZE + FS_RING + FS_DATA)
#define FS_MAX_DEVS 8

struct fake_sys {
    char root[64];
    char sys[128], cfg[128], dev[128], state[128];
    uint8_t *map[FS_MAX_DEVS];
    uint16_t next_id;
};

static inline void fs_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* mkdir -p of the path fmt gives. */
__attribute__((format(printf, 1, 2))) static inline void fs_mkdirs(const char *fmt, ...)
{
    char path[600], cmd[640];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(path, sizeof(path), fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", path);
    assert_int_equal(system(cmd), 0);
}

static inline void fs_init(struct fake_sys *s)
{
    memset(s, 0, sizeof(*s));
    snprintf(s->root, sizeof(s->root), "/tmp/prh-tcmu-XXXXXX");
    assert_non_null(mkdtemp(s->root));
    snprintf(s->sys, sizeof(s->sys), "%s/sys", s->root);
    snprintf(s->cfg, sizeof(s->cfg), "%s/cfg", s->root);
    snprintf(s->dev, sizeof(s->dev), "%s/dev", s->root);
    snprintf(s->state, sizeof(s->state), "%s/state", s->root);
    fs_mkdirs("%s/class/uio", s->sys);
    fs_mkdirs("%s", s->dev);
    s->next_id = 1;
}

static inline void fs_cleanup(struct fake_sys *s)
{
    char cmd[200];
    for (int i = 0; i < FS_MAX_DEVS; i++)
        if (s->map[i])
            munmap(s->map[i], FS_MAP);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->root);
    assert_int_equal(system(cmd), 0);
}

/* Write text to backstore user_0/<name>'s configfs attribute attr. */
static inline void fs_set_attrib(struct fake_sys *s, const char *name, const char *attr,
                                 const char *text)
{
    char p[600];
    snprintf(p, sizeof(p), "%s/target/core/user_0/%s/attrib/%s", s->cfg, name, attr);
    fs_write(p, text);
}

/* A backstore user_0/<name> on uio<minor> with dev_config cfgstr. */
static inline void fs_add(struct fake_sys *s, unsigned minor, const char *name,
                          const char *cfgstr, unsigned long long size)
{
    char p[600], text[600];
    fs_mkdirs("%s/class/uio/uio%u/maps/map0", s->sys, minor);
    snprintf(p, sizeof(p), "%s/class/uio/uio%u/name", s->sys, minor);
    snprintf(text, sizeof(text), "tcm-user/0/%s/%s\n", name, cfgstr);
    fs_write(p, text);
    snprintf(p, sizeof(p), "%s/class/uio/uio%u/maps/map0/size", s->sys, minor);
    snprintf(text, sizeof(text), "0x%x\n", FS_MAP);
    fs_write(p, text);
    fs_mkdirs("%s/target/core/user_0/%s/attrib", s->cfg, name);
    snprintf(text, sizeof(text), "%llu\n", size);
    fs_set_attrib(s, name, "dev_size", text);
    fs_set_attrib(s, name, "hw_block_size", "512\n");
    fs_set_attrib(s, name, "nl_reply_supported", "0\n");
    snprintf(p, sizeof(p), "%s/uio%u", s->dev, minor);
    unlink(p);
    assert_int_equal(mkfifo(p, 0600), 0);
    snprintf(p, sizeof(p), "%s/uio%u.map", s->dev, minor);
    int fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, FS_MAP), 0);
    uint8_t *m = mmap(NULL, FS_MAP, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    assert_true(m != MAP_FAILED);
    close(fd);
    fake_format(m, FS_RING, FAKE_CAP_OOOC | FAKE_CAP_READ_LEN);
    assert_true(minor < FS_MAX_DEVS);
    if (s->map[minor])
        munmap(s->map[minor], FS_MAP);
    s->map[minor] = m;
}

/* Take a backstore away as rmdir in configfs does. */
static inline void fs_remove_configfs(struct fake_sys *s, const char *name)
{
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s/target/core/user_0/%s'", s->cfg, name);
    assert_int_equal(system(cmd), 0);
}

/* Queue cdb on uio<minor>; data: len bytes at the data area's start
 * (copied in first when out != NULL), the same place for every command:
 * queue a data-out command only when the previous ones are answered.
 * The entry's ring offset. */
static inline long fs_cmd(struct fake_sys *s, unsigned minor, const uint8_t *cdb, size_t cdb_len,
                          const void *out, size_t len)
{
    uint8_t *m = s->map[minor];
    uint64_t d = fake_data_off(m);
    const uint64_t iov[1][2] = { { d, len } };
    if (out)
        memcpy(m + d, out, len);
    else
        memset(m + d, 0xee, len); /* the handler must overwrite or zero it */
    long off = fake_push_cmd(m, s->next_id++, cdb, cdb_len, iov, len ? 1 : 0);
    assert_true(off >= 0);
    return off;
}

/* The data area's first bytes (what a data-in command returned). */
static inline const uint8_t *fs_data(struct fake_sys *s, unsigned minor)
{
    return s->map[minor] + fake_data_off(s->map[minor]);
}

static inline bool fs_answered(struct fake_sys *s, unsigned minor)
{
    return fake_tail(s->map[minor]) == fake_head(s->map[minor]);
}

/* Ring the device's FIFO doorbell (a UIO event). */
static inline void fs_kick(struct fake_sys *s, unsigned minor)
{
    char p[300];
    snprintf(p, sizeof(p), "%s/uio%u", s->dev, minor);
    int fd = open(p, O_RDWR | O_NONBLOCK);
    assert_true(fd >= 0);
    uint32_t one = 1;
    assert_int_equal(write(fd, &one, 4), 4);
    close(fd);
}

/* Bounded wait for everything queued on uio<minor> to be answered. */
static inline bool fs_wait_answered(struct fake_sys *s, unsigned minor, long ms)
{
    long end = tu_now_ms() + ms;
    while (!fs_answered(s, minor)) {
        if (tu_now_ms() > end)
            return false;
        tu_sleep_ms(5);
    }
    return true;
}

/* Queue one command on uio<minor>, ring the doorbell, and return its
 * answer once a running daemon has given it (5 s at most). */
static inline struct fake_answer fs_cmd_answered(struct fake_sys *s, unsigned minor,
                                                 const uint8_t *cdb, size_t cdb_len,
                                                 const void *out, size_t len)
{
    long off = fs_cmd(s, minor, cdb, cdb_len, out, len);
    fs_kick(s, minor);
    assert_true(fs_wait_answered(s, minor, 5000));
    return fake_read_answer(s->map[minor], off);
}

#endif
