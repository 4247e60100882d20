/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_pr_sim_store.c - the file store of the APTPL state image
 * (pr_sim_store.h): atomic save, private file, load of a missing,
 * corrupt, newer, oversize or odd file, set-aside of a corrupt one, names.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sim_image.h"

#include "prhelper/pr_sim_store.h"

/* ========================================================================= */
/* the file store                                                             */
/* ========================================================================= */

/* The store tests' state: a state directory, and a small valid image to save. */
struct store_fx {
    char path[64];
    uint8_t *img; /* img_small_valid(), the tests' image to save */
    size_t len;
};

static int tmpdir_setup(void **state)
{
    struct store_fx *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return -1;
    snprintf(t->path, sizeof(t->path), "/tmp/prh-persist-XXXXXX");
    if (mkdtemp(t->path) == NULL) {
        free(t);
        return -1;
    }
    t->img = img_small_valid(&t->len);
    *state = t;
    return 0;
}

/* Remove dir and what the tests put in it (files, one level of dirs). */
static void remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (d != NULL) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char p[4096];
            snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
            struct stat sb;
            if (lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode))
                remove_tree(p);
            else
                unlink(p);
        }
        closedir(d);
    }
    rmdir(dir);
}

static int tmpdir_teardown(void **state)
{
    struct store_fx *t = *state;
    remove_tree(t->path);
    free(t->img);
    free(t);
    return 0;
}

static const char *dir_of(void **state)
{
    return ((struct store_fx *)*state)->path;
}

/* Names in dir (sorted is not needed: tests check count and membership). */
static size_t dir_entries(const char *dir, char names[][256], size_t max)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (n < max)
            snprintf(names[n], 256, "%s", e->d_name);
        n++;
    }
    closedir(d);
    return n;
}

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    long n = ftell(fp);
    assert_true(n >= 0);
    rewind(fp);
    uint8_t *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
    fclose(fp);
    *len = (size_t)n;
    return buf;
}

static void write_file(const char *path, const uint8_t *p, size_t len)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    if (len)
        assert_int_equal(fwrite(p, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
}

static void state_path(void **state, const char *name, char *buf, size_t len)
{
    assert_int_equal(pr_sim_store_path(dir_of(state), name, buf, len), 0);
}

/* LEN bytes of IMG saved as LUN NAME's state in the test's directory. */
static void save_ok(void **state, const char *name, const uint8_t *img, size_t len)
{
    assert_int_equal(pr_sim_store_save(dir_of(state), name, img, len), 0);
}

/* The state file of LUN NAME holds exactly the LEN bytes of IMG. */
static void expect_state_file(void **state, const char *name, const uint8_t *img, size_t len)
{
    char path[4096];
    state_path(state, name, path, sizeof(path));
    size_t flen;
    uint8_t *file = read_file(path, &flen);
    assert_int_equal(flen, len);
    assert_memory_equal(file, img, len);
    free(file);
}

static void test_store_save_then_load_restores_state(void **state)
{
    struct rich x = img_rich_nexuses();
    struct pr_sim_lun *src = th_lun(PR_SIM_PROFILE_SPC4);
    img_make_rich(src, &x);
    size_t len;
    uint8_t *img = img_serialize(src, &len);
    save_ok(state, "lun0", img, len);

    struct pr_sim_lun *dst = th_bare_lun(PR_SIM_PROFILE_SPC4);
    char msg[512] = "";
    int rc = pr_sim_store_load(dir_of(state), "lun0", dst, msg, sizeof(msg));
    if (rc != 0)
        fail_msg("load failed: %d %s", rc, msg);
    struct snap a = img_take_snap(src, NULL, 0), b = img_take_snap(dst, NULL, 0);
    a.generation = 0;
    assert_snap_equal(&a, &b);
    free(img);
    pr_sim_lun_free(src);
    pr_sim_lun_free(dst);
}

static void test_store_save_writes_the_image_bytes_exactly(void **state)
{
    struct store_fx *t = *state;
    save_ok(state, "lun0", t->img, t->len);
    expect_state_file(state, "lun0", t->img, t->len);
}

static void test_store_save_overwrites_previous_state(void **state)
{
    size_t len1, len2;
    uint8_t *img1 = img_small_valid(&len1);
    struct pr_sim_lun *empty = th_lun(PR_SIM_PROFILE_SPC4);
    uint8_t *img2 = img_serialize(empty, &len2);
    save_ok(state, "lun0", img1, len1);
    save_ok(state, "lun0", img2, len2);
    expect_state_file(state, "lun0", img2, len2);
    free(img1);
    free(img2);
    pr_sim_lun_free(empty);
}

static void test_store_save_leaves_no_temp_files(void **state)
{
    struct store_fx *t = *state;
    for (int i = 0; i < 5; i++) {
        save_ok(state, "lun0", t->img, t->len);
        save_ok(state, "lun1", t->img, t->len);
    }
    char names[8][256];
    size_t n = dir_entries(dir_of(state), names, 8);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], "lun0.prstate") != 0 && strcmp(names[i], "lun1.prstate") != 0)
            fail_msg("unexpected file '%s' left in the state directory", names[i]);
}

static void test_store_failed_save_leaves_no_temp_files(void **state)
{
    /* The state file's place is taken by a directory: rename fails. */
    char path[4096];
    state_path(state, "lun0", path, sizeof(path));
    assert_int_equal(mkdir(path, 0700), 0);
    char inner[4200];
    snprintf(inner, sizeof(inner), "%s/keep", path);
    write_file(inner, (const uint8_t *)"x", 1);
    struct store_fx *t = *state;
    int rc = pr_sim_store_save(dir_of(state), "lun0", t->img, t->len);
    assert_true(rc < 0);
    char names[8][256];
    size_t n = dir_entries(dir_of(state), names, 8);
    assert_int_equal(n, 1);
    assert_string_equal(names[0], "lun0.prstate");
}

static void test_store_save_file_is_private(void **state)
{
    struct store_fx *t = *state;
    save_ok(state, "lun0", t->img, t->len);
    char path[4096];
    state_path(state, "lun0", path, sizeof(path));
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_true(S_ISREG(sb.st_mode));
    /* Not readable or writable by group or others (LIO writes 0600). */
    assert_int_equal(sb.st_mode & 077, 0);
}

/* A state directory is made with its parents: private itself, an existing
 * one left alone, a file in the way an error, not a success. */
static void test_store_make_dir_creates_parents_and_refuses_a_file_in_the_way(void **state)
{
    char p[200], f[200];
    struct stat sb;
    snprintf(p, sizeof(p), "%s/a/b/state", dir_of(state));
    assert_int_equal(pr_sim_store_make_dir(p, 0700), 0);
    assert_int_equal(stat(p, &sb), 0);
    assert_true(S_ISDIR(sb.st_mode));
    assert_int_equal(sb.st_mode & 0777, 0700);
    assert_int_equal(pr_sim_store_make_dir(p, 0700), 0);
    snprintf(f, sizeof(f), "%s/a/file", dir_of(state));
    int fd = open(f, O_CREAT | O_WRONLY, 0600);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(pr_sim_store_make_dir(f, 0700), -ENOTDIR);
    snprintf(p, sizeof(p), "%s/a/file/state", dir_of(state));
    assert_int_equal(pr_sim_store_make_dir(p, 0700), -ENOTDIR);
    assert_int_equal(pr_sim_store_make_dir("", 0700), -ENAMETOOLONG);
}

static void test_store_load_missing_file_is_empty_lun(void **state)
{
    struct pr_sim_lun *lun = th_bare_lun(PR_SIM_PROFILE_SPC4);
    char msg[256] = "";
    assert_int_equal(pr_sim_store_load(dir_of(state), "nosuch", lun, msg, sizeof(msg)), 0);
    assert_int_equal(pr_sim_registration_count(lun), 0);
    assert_int_equal(pr_sim_reservation_type(lun), PR_TYPE_NONE);
    assert_false(pr_sim_aptpl_active(lun));
    assert_int_equal(pr_sim_generation(lun), 0);
    char names[4][256];
    assert_int_equal(dir_entries(dir_of(state), names, 4), 0); /* nothing created */
    pr_sim_lun_free(lun);
}

/* Load must fail with want_rc, name the file, leave it and the LUN as
 * they were. */
static void expect_load_rejected(void **state, const char *name, int want_rc)
{
    char path[4096];
    state_path(state, name, path, sizeof(path));
    struct stat sb0;
    assert_int_equal(stat(path, &sb0), 0);
    size_t len0 = 0;
    uint8_t *before = S_ISREG(sb0.st_mode) && sb0.st_size < (1 << 20) ? read_file(path, &len0)
                                                                       : NULL;
    struct pr_sim_nexus watch[2];
    struct pr_sim_lun *lun = img_make_target(watch);
    struct snap s0 = img_take_snap(lun, watch, 2);
    char msg[8192];
    memset(msg, 0, sizeof(msg));
    int rc = pr_sim_store_load(dir_of(state), name, lun, msg, sizeof(msg));
    if (rc != want_rc)
        fail_msg("pr_sim_store_load returned %d (%s), want %d", rc, msg, want_rc);
    if (strstr(msg, path) == NULL)
        fail_msg("message '%s' does not name %s", msg, path);
    struct snap s1 = img_take_snap(lun, watch, 2);
    assert_snap_equal(&s0, &s1);
    struct stat sb1;
    assert_int_equal(stat(path, &sb1), 0);
    assert_int_equal(sb1.st_size, sb0.st_size);
    assert_int_equal(sb1.st_mode, sb0.st_mode);
    assert_int_equal(sb1.st_ino, sb0.st_ino);
    if (before != NULL) {
        size_t len1;
        uint8_t *after = read_file(path, &len1);
        assert_int_equal(len1, len0);
        if (len0)
            assert_memory_equal(after, before, len0);
        free(after);
        free(before);
    }
    pr_sim_lun_free(lun);
}

static void test_store_load_corrupt_file_names_file_and_leaves_it_unchanged(void **state)
{
    struct store_fx *t = *state;
    t->img[t->len - 1] ^= 0x5a; /* body CRC no longer matches */
    char path[4096];
    state_path(state, "lun0", path, sizeof(path));
    write_file(path, t->img, t->len);
    expect_load_rejected(state, "lun0", -EINVAL);
    char names[4][256];
    assert_int_equal(dir_entries(dir_of(state), names, 4), 1);
}

static void test_store_set_aside_renames_and_never_replaces(void **state)
{
    char path[4096], aside1[4200], aside2[4200];
    char names[4][256];
    state_path(state, "lun0", path, sizeof(path));
    write_file(path, (const uint8_t *)"one", 3);
    assert_int_equal(pr_sim_store_set_aside(dir_of(state), "lun0", aside1, sizeof(aside1)), 0);
    assert_non_null(strstr(aside1, "/lun0.prstate.corrupt-"));
    assert_int_equal(access(path, F_OK), -1);
    write_file(path, (const uint8_t *)"two", 3);
    assert_int_equal(pr_sim_store_set_aside(dir_of(state), "lun0", aside2, sizeof(aside2)), 0);
    assert_string_not_equal(aside1, aside2); /* same second: a "-1" suffix, not a replacement */
    size_t len;
    uint8_t *a = read_file(aside1, &len);
    assert_int_equal(len, 3);
    assert_memory_equal(a, "one", 3);
    free(a);
    a = read_file(aside2, &len);
    assert_memory_equal(a, "two", 3);
    free(a);
    assert_int_equal(dir_entries(dir_of(state), names, 4), 2);
}

static void test_store_remove_stale_only_temporary_files_of_the_lun(void **state)
{
    char path[4096], p[4200];
    char names[8][256];
    state_path(state, "lun0", path, sizeof(path));
    write_file(path, (const uint8_t *)"state", 5);
    snprintf(p, sizeof(p), "%s.tmpAbC123", path);
    write_file(p, (const uint8_t *)"half", 4);
    snprintf(p, sizeof(p), "%s.tmpXyZ789", path);
    write_file(p, (const uint8_t *)"half", 4);
    snprintf(p, sizeof(p), "%s.tmpTOOLONG1", path); /* not mkstemp's: kept */
    write_file(p, (const uint8_t *)"x", 1);
    snprintf(p, sizeof(p), "%s/lun1.prstate.tmpAbC123", dir_of(state)); /* another LUN's */
    write_file(p, (const uint8_t *)"x", 1);
    assert_int_equal(pr_sim_store_remove_stale(dir_of(state), "lun0"), 2);
    assert_int_equal(dir_entries(dir_of(state), names, 8), 3);
    assert_int_equal(access(path, F_OK), 0);
    assert_int_equal(pr_sim_store_remove_stale(dir_of(state), "lun0"), 0);
    assert_int_equal(pr_sim_store_remove_stale(dir_of(state), ".x"), -EINVAL);
    assert_int_equal(pr_sim_store_remove_stale("/nonexistent-dir-xyz", "lun0"), -ENOENT);
}

static void test_store_set_aside_errors(void **state)
{
    char out[4200], small[16];
    char path[4096];
    assert_int_equal(pr_sim_store_set_aside(dir_of(state), "lun0", out, sizeof(out)), -ENOENT);
    assert_int_equal(pr_sim_store_set_aside(dir_of(state), ".bad", out, sizeof(out)), -EINVAL);
    state_path(state, "lun0", path, sizeof(path));
    write_file(path, (const uint8_t *)"x", 1);
    assert_int_equal(pr_sim_store_set_aside(dir_of(state), "lun0", small, sizeof(small)),
                     -ENAMETOOLONG);
    assert_int_equal(access(path, F_OK), 0); /* nothing moved */
}

static void test_store_load_truncated_file_is_corrupt(void **state)
{
    struct store_fx *t = *state;
    char path[4096];
    state_path(state, "lun0", path, sizeof(path));
    write_file(path, t->img, t->len / 2);
    expect_load_rejected(state, "lun0", -EINVAL);
}

static void test_store_load_empty_file_is_corrupt(void **state)
{
    char path[4096];
    state_path(state, "lun0", path, sizeof(path));
    write_file(path, NULL, 0);
    expect_load_rejected(state, "lun0", -EINVAL);
}

static void test_store_load_newer_version_file_is_eprotonosupport(void **state)
{
    struct store_fx *t = *state;
    scsi_put_be32(t->img + OFF_VERSION, 2);
    img_fix_crcs(t->img, t->len);
    char path[4096];
    state_path(state, "lun0", path, sizeof(path));
    write_file(path, t->img, t->len);
    expect_load_rejected(state, "lun0", -EPROTONOSUPPORT);
}

static void test_store_load_oversize_file_is_efbig(void **state)
{
    char path[4096];
    state_path(state, "lun0", path, sizeof(path));
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    /* Sparse: no disk space needed. */
    assert_int_equal(ftruncate(fd, (off_t)PR_SIM_STORE_MAX_FILE + 1), 0);
    assert_int_equal(close(fd), 0);
    expect_load_rejected(state, "lun0", -EFBIG);
}

static void test_store_load_directory_in_place_of_file_is_error(void **state)
{
    char path[4096];
    state_path(state, "lun0", path, sizeof(path));
    assert_int_equal(mkdir(path, 0700), 0);
    struct pr_sim_lun *lun = th_bare_lun(PR_SIM_PROFILE_SPC4);
    char msg[8192] = "";
    int rc = pr_sim_store_load(dir_of(state), "lun0", lun, msg, sizeof(msg));
    assert_true(rc < 0);
    assert_non_null(strstr(msg, path));
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_true(S_ISDIR(sb.st_mode));
    pr_sim_lun_free(lun);
}

/* A FIFO (or any non-regular file) where the state file belongs: an error
 * naming the file, returned promptly -- opening it must not block. */
static void test_store_load_fifo_in_place_of_file_is_error_without_blocking(void **state)
{
    char path[4096];
    state_path(state, "lun0", path, sizeof(path));
    assert_int_equal(mkfifo(path, 0600), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct pr_sim_lun *lun = th_bare_lun(PR_SIM_PROFILE_SPC4);
        char msg[8192] = "";
        int rc = pr_sim_store_load(dir_of(state), "lun0", lun, msg, sizeof(msg));
        _exit(rc < 0 && strstr(msg, path) != NULL ? 0 : 1);
    }
    int status = 0;
    pid_t done = 0;
    for (int i = 0; i < 300 && done == 0; i++) { /* 3 s */
        done = waitpid(pid, &status, WNOHANG);
        if (done == 0)
            usleep(10000);
    }
    if (done == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        fail_msg("pr_sim_store_load blocked on a FIFO at %s", path);
    }
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) != 0)
        fail_msg("pr_sim_store_load did not fail with a message naming %s", path);
    struct stat sb;
    assert_int_equal(lstat(path, &sb), 0);
    assert_true(S_ISFIFO(sb.st_mode));
}

static void test_store_name_valid_accepts_allowed_names(void **state)
{
    (void)state;
    static const char *const ok[] = { "lun0", "a", "A_b-1.2", "iqn.2026-11.test:disk1",
                                      "0", "x.", "a..b" };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        if (!pr_sim_store_name_valid(ok[i]))
            fail_msg("'%s' rejected", ok[i]);
    char longest[PR_SIM_STORE_NAME_MAX + 1];
    memset(longest, 'n', PR_SIM_STORE_NAME_MAX);
    longest[PR_SIM_STORE_NAME_MAX] = '\0';
    assert_true(pr_sim_store_name_valid(longest));
}

static void test_store_name_valid_rejects_invalid_names(void **state)
{
    (void)state;
    static const char *const bad[] = { "", ".", "..", ".hidden", "a/b", "/abs", "../x", "a b",
                                       "lun\n", "lun*", "lün", "a\\b", "x?", "~root" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (pr_sim_store_name_valid(bad[i]))
            fail_msg("'%s' accepted", bad[i]);
    char toolong[PR_SIM_STORE_NAME_MAX + 2];
    memset(toolong, 'n', PR_SIM_STORE_NAME_MAX + 1);
    toolong[PR_SIM_STORE_NAME_MAX + 1] = '\0';
    assert_false(pr_sim_store_name_valid(toolong));
}

static void test_store_save_and_load_reject_invalid_names(void **state)
{
    static const char *const bad[] = { "", ".hidden", "a/b", "../escape", "a b" };
    struct store_fx *t = *state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(pr_sim_store_save(dir_of(state), bad[i], t->img, t->len), -EINVAL);
        struct pr_sim_lun *lun = th_bare_lun(PR_SIM_PROFILE_SPC4);
        char msg[512] = "";
        assert_int_equal(pr_sim_store_load(dir_of(state), bad[i], lun, msg, sizeof(msg)), -EINVAL);
        assert_true(msg[0] != '\0');
        pr_sim_lun_free(lun);
        char path[4096];
        assert_int_equal(pr_sim_store_path(dir_of(state), bad[i], path, sizeof(path)), -EINVAL);
    }
    char names[4][256];
    assert_int_equal(dir_entries(dir_of(state), names, 4), 0);
    /* Nothing escaped into the parent either. */
    struct stat sb;
    assert_int_not_equal(stat("/tmp/escape.prstate", &sb), 0);
}

static void test_store_path_is_dir_slash_name_dot_prstate(void **state)
{
    (void)state;
    char buf[256];
    assert_int_equal(pr_sim_store_path("/var/lib/prh", "lun0", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "/var/lib/prh/lun0.prstate");
}

static void test_store_path_too_long_is_enametoolong(void **state)
{
    (void)state;
    char buf[24];
    /* "/var/lib/prh/lun0.prstate" is 25 characters + NUL. */
    assert_int_equal(pr_sim_store_path("/var/lib/prh", "lun0", buf, sizeof(buf)), -ENAMETOOLONG);
    char exact[26];
    assert_int_equal(pr_sim_store_path("/var/lib/prh", "lun0", exact, sizeof(exact)), 0);
}

static void test_store_save_to_missing_directory_fails(void **state)
{
    char missing[4096];
    snprintf(missing, sizeof(missing), "%s/does-not-exist", dir_of(state));
    struct store_fx *t = *state;
    int rc = pr_sim_store_save(missing, "lun0", t->img, t->len);
    assert_int_equal(rc, -ENOENT);
    struct stat sb;
    assert_int_not_equal(stat(missing, &sb), 0);
}

/* A store binding for LUN NAME in the test's directory + SUFFIX ("" or
 * "/sub"), and a LUN whose persist hook saves through it (*b: caller frees). */
static struct pr_sim_lun *hooked_lun(void **state, const char *suffix, const char *name,
                                     struct pr_sim_store_binding **b)
{
    *b = calloc(1, sizeof(**b));
    assert_non_null(*b);
    snprintf((*b)->dir, sizeof((*b)->dir), "%s%s", dir_of(state), suffix);
    snprintf((*b)->name, sizeof((*b)->name), "%s", name);
    return th_lun_hooked(PR_SIM_PROFILE_SPC4, pr_sim_store_persist, *b);
}

static void test_store_persist_hook_state_survives_restart(void **state)
{
    struct pr_sim_store_binding *b;
    struct pr_sim_lun *lun = hooked_lun(state, "", "lun7", &b);
    struct pr_sim_nexus a = th_nexus('A', 1), c = th_nexus('C', 2);
    assert_good(th_register_flags(lun, &a, 0, K1, PR_OUT_FLAG_APTPL));
    assert_good(th_register_flags(lun, &c, 0, K3, PR_OUT_FLAG_APTPL));
    assert_good(th_reserve(lun, &c, K3, PR_TYPE_EA_RO));
    struct snap before = img_take_snap(lun, NULL, 0);
    pr_sim_lun_free(lun); /* power loss */

    struct pr_sim_lun *again = th_lun_hooked(PR_SIM_PROFILE_SPC4, pr_sim_store_persist, b);
    char msg[512] = "";
    assert_int_equal(pr_sim_store_load(b->dir, b->name, again, msg, sizeof(msg)), 0);
    struct snap after = img_take_snap(again, NULL, 0);
    before.generation = 0;
    assert_snap_equal(&before, &after);
    char names[4][256];
    assert_int_equal(dir_entries(dir_of(state), names, 4), 1);
    assert_string_equal(names[0], "lun7.prstate");
    pr_sim_lun_free(again);
    free(b);
}

static void test_store_persist_hook_missing_directory_fails_pr_out(void **state)
{
    struct pr_sim_store_binding *b;
    struct pr_sim_lun *lun = hooked_lun(state, "/gone", "lun0", &b);
    struct pr_sim_nexus a = th_nexus('A', 1);
    assert_check(th_register_flags(lun, &a, 0, K1, PR_OUT_FLAG_APTPL),
                 SENSE_INTERNAL_TARGET_FAILURE);
    assert_int_equal(pr_sim_registration_count(lun), 0);
    assert_false(pr_sim_aptpl_active(lun));
    pr_sim_lun_free(lun);
    free(b);
}

#define STORE_TEST(f) cmocka_unit_test_setup_teardown(f, tmpdir_setup, tmpdir_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        STORE_TEST(test_store_save_then_load_restores_state),
        STORE_TEST(test_store_save_writes_the_image_bytes_exactly),
        STORE_TEST(test_store_save_overwrites_previous_state),
        STORE_TEST(test_store_save_leaves_no_temp_files),
        STORE_TEST(test_store_failed_save_leaves_no_temp_files),
        STORE_TEST(test_store_save_file_is_private),
        STORE_TEST(test_store_make_dir_creates_parents_and_refuses_a_file_in_the_way),
        STORE_TEST(test_store_load_missing_file_is_empty_lun),
        STORE_TEST(test_store_load_corrupt_file_names_file_and_leaves_it_unchanged),
        STORE_TEST(test_store_load_truncated_file_is_corrupt),
        STORE_TEST(test_store_set_aside_renames_and_never_replaces),
        STORE_TEST(test_store_set_aside_errors),
        STORE_TEST(test_store_remove_stale_only_temporary_files_of_the_lun),
        STORE_TEST(test_store_load_empty_file_is_corrupt),
        STORE_TEST(test_store_load_newer_version_file_is_eprotonosupport),
        STORE_TEST(test_store_load_oversize_file_is_efbig),
        STORE_TEST(test_store_load_directory_in_place_of_file_is_error),
        STORE_TEST(test_store_load_fifo_in_place_of_file_is_error_without_blocking),
        cmocka_unit_test(test_store_name_valid_accepts_allowed_names),
        cmocka_unit_test(test_store_name_valid_rejects_invalid_names),
        STORE_TEST(test_store_save_and_load_reject_invalid_names),
        cmocka_unit_test(test_store_path_is_dir_slash_name_dot_prstate),
        cmocka_unit_test(test_store_path_too_long_is_enametoolong),
        STORE_TEST(test_store_save_to_missing_directory_fails),
        STORE_TEST(test_store_persist_hook_state_survives_restart),
        STORE_TEST(test_store_persist_hook_missing_directory_fails_pr_out),
    };
    return cmocka_run_group_tests_name("pr_sim.store", tests, NULL, NULL);
}
