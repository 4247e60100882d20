/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * store.c - APTPL state files: the only place the simulator does I/O.
 */
#include "prhelper/pr_sim_store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

bool pr_sim_store_name_valid(const char *name)
{
    size_t len = strlen(name);
    if (len == 0 || len > PR_SIM_STORE_NAME_MAX || name[0] == '.')
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '-'))
            return false;
    }
    return true;
}

int pr_sim_store_make_dir(const char *path, mode_t mode)
{
    char buf[4096];
    size_t len = strlen(path);

    if (len == 0 || len >= sizeof(buf))
        return -ENAMETOOLONG;
    memcpy(buf, path, len + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(buf, mode) == 0)
        return 0;
    if (errno != EEXIST)
        return -errno;
    struct stat sb;
    if (stat(buf, &sb) < 0)
        return -errno;
    return S_ISDIR(sb.st_mode) ? 0 : -ENOTDIR;
}

int pr_sim_store_path(const char *dir, const char *name, char *buf, size_t len)
{
    if (!pr_sim_store_name_valid(name))
        return -EINVAL;
    int n = snprintf(buf, len, "%s/%s.prstate", dir, name);
    if (n < 0 || (size_t)n >= len)
        return -ENAMETOOLONG;
    return 0;
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int pr_sim_store_save(const char *dir, const char *name, const uint8_t *image, size_t len)
{
    char path[4096], tmp[4096 + 16];
    int rc = pr_sim_store_path(dir, name, path, sizeof(path));
    if (rc < 0)
        return rc;
    if (snprintf(tmp, sizeof(tmp), "%s.tmpXXXXXX", path) >= (int)sizeof(tmp))
        return -ENAMETOOLONG;
    int fd = mkstemp(tmp);
    if (fd < 0)
        return -errno;
    rc = write_all(fd, image, len);
    if (rc == 0 && fsync(fd) < 0)
        rc = -errno;
    if (close(fd) < 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && rename(tmp, path) < 0)
        rc = -errno;
    if (rc < 0) {
        unlink(tmp);
        return rc;
    }
    /* The rename is durable only once the directory is on disk. */
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return -errno;
    if (fsync(dfd) < 0)
        rc = -errno;
    close(dfd);
    return rc;
}

int pr_sim_store_load(const char *dir, const char *name, struct pr_sim_lun *lun, char *errmsg,
                      size_t errmsg_len)
{
    char path[4096];
    int rc = pr_sim_store_path(dir, name, path, sizeof(path));
    if (rc < 0) {
        snprintf(errmsg, errmsg_len, "invalid state file name for LUN '%s'", name);
        return rc;
    }
    /* O_NONBLOCK: a FIFO planted at the path must not hang the loader;
     * the regular-file check below then refuses it. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0; /* no state yet: an empty LUN */
        rc = -errno;
        snprintf(errmsg, errmsg_len, "%s: cannot open: %s", path, strerror(errno));
        return rc;
    }
    struct stat sb;
    if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        snprintf(errmsg, errmsg_len, "%s: not a regular file", path);
        return -EINVAL;
    }
    if ((uint64_t)sb.st_size > PR_SIM_STORE_MAX_FILE) {
        close(fd);
        snprintf(errmsg, errmsg_len, "%s: %lld bytes is larger than the %u-byte limit", path,
                 (long long)sb.st_size, PR_SIM_STORE_MAX_FILE);
        return -EFBIG;
    }
    size_t size = (size_t)sb.st_size;
    uint8_t *buf = malloc(size ? size : 1);
    if (buf == NULL) {
        close(fd);
        snprintf(errmsg, errmsg_len, "%s: out of memory", path);
        return -ENOMEM;
    }
    size_t got = 0;
    while (got < size) {
        ssize_t n = read(fd, buf + got, size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = n < 0 ? -errno : -EIO;
            snprintf(errmsg, errmsg_len, "%s: read failed: %s", path, strerror(-rc));
            free(buf);
            close(fd);
            return rc;
        }
        got += (size_t)n;
    }
    close(fd);
    char why[256] = "";
    rc = pr_sim_deserialize(lun, buf, size, why, sizeof(why));
    free(buf);
    if (rc < 0)
        snprintf(errmsg, errmsg_len, "%s: %s", path, why);
    return rc;
}

static int sync_dir(const char *dir)
{
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return -errno;
    int rc = fsync(dfd) < 0 ? -errno : 0;
    close(dfd);
    return rc;
}

int pr_sim_store_set_aside(const char *dir, const char *name, char *out, size_t out_len)
{
    char path[4096], stamp[32];
    int rc = pr_sim_store_path(dir, name, path, sizeof(path));
    if (rc < 0)
        return rc;
    time_t now = time(NULL);
    struct tm tm;
    if (!gmtime_r(&now, &tm) || !strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm))
        snprintf(stamp, sizeof(stamp), "%lld", (long long)now);
    for (unsigned n = 0; n < 1000; n++) {
        int len = n ? snprintf(out, out_len, "%s.corrupt-%s-%u", path, stamp, n)
                    : snprintf(out, out_len, "%s.corrupt-%s", path, stamp);
        if (len < 0 || (size_t)len >= out_len)
            return -ENAMETOOLONG;
        /* link + unlink: never replaces an older kept-aside file. */
        if (link(path, out) == 0) {
            if (unlink(path) < 0) {
                rc = -errno;
                unlink(out);
                return rc;
            }
            return sync_dir(dir);
        }
        if (errno != EEXIST)
            return -errno;
    }
    return -EEXIST;
}

int pr_sim_store_remove_stale(const char *dir, const char *name)
{
    char prefix[PR_SIM_STORE_NAME_MAX + 32];
    if (!pr_sim_store_name_valid(name))
        return -EINVAL;
    int plen = snprintf(prefix, sizeof(prefix), "%s.prstate.tmp", name);
    DIR *d = opendir(dir);
    if (d == NULL)
        return -errno;
    int removed = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        /* mkstemp's template: exactly six characters after the prefix. */
        if (strncmp(e->d_name, prefix, (size_t)plen) == 0 && strlen(e->d_name) == (size_t)plen + 6 &&
            unlinkat(dirfd(d), e->d_name, 0) == 0)
            removed++;
    }
    closedir(d);
    return removed;
}

int pr_sim_store_persist(void *binding, const uint8_t *image, size_t len)
{
    const struct pr_sim_store_binding *b = binding;
    return pr_sim_store_save(b->dir, b->name, image, len);
}
