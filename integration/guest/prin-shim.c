// SPDX-License-Identifier: GPL-2.0-or-later
// prin-shim.c - LD_PRELOAD shim for a guest's PR client (iscsi-test-cu):
// an SG_IO PERSISTENT RESERVE IN whose ALLOCATION LENGTH exceeds 8192
// bytes is sent with a copy of the CDB whose allocation length is 8192.
//
// Why: QEMU's pr-manager-helper client refuses any PR IN with an
// allocation length above PR_HELPER_DATA_SIZE (8192, scsi/pr-helper.h)
// before a helper sees it, and libiscsi 1.19 asks for 16384 on every
// PR IN.  The caller's CDB, buffer and dxfer_len stay as they were, so
// the client's own checks on the reply are untouched.  Built and used by
// integration/test-qemu-client-libiscsi-and-fence-scsi.sh.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <scsi/sg.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>

enum {
    PERSISTENT_RESERVE_IN = 0x5e,
    PR_IN_CDB_LEN = 10,
    QEMU_PR_HELPER_DATA_SIZE = 8192, // PR_HELPER_DATA_SIZE in QEMU
};

typedef int (*ioctl_fn)(int, unsigned long, void *);

static ioctl_fn next_ioctl(void)
{
    static ioctl_fn fn;
    if (!fn) {
        void *sym = dlsym(RTLD_NEXT, "ioctl");
        memcpy(&fn, &sym, sizeof fn);
    }
    return fn;
}

int ioctl(int fd, unsigned long request, ...)
{
    va_list ap;
    va_start(ap, request);
    void *arg = va_arg(ap, void *);
    va_end(ap);

    ioctl_fn real = next_ioctl();
    if (request != SG_IO || !arg)
        return real(fd, request, arg);
    struct sg_io_hdr *hdr = arg;
    if (hdr->interface_id != 'S' || !hdr->cmdp || hdr->cmd_len < PR_IN_CDB_LEN ||
        hdr->cmd_len > 16 || hdr->cmdp[0] != PERSISTENT_RESERVE_IN)
        return real(fd, request, arg);
    unsigned alloc = (unsigned)hdr->cmdp[7] << 8 | hdr->cmdp[8];
    if (alloc <= QEMU_PR_HELPER_DATA_SIZE)
        return real(fd, request, arg);

    unsigned char cdb[16];
    unsigned char *orig = hdr->cmdp;
    memcpy(cdb, orig, hdr->cmd_len);
    cdb[7] = (unsigned char)(QEMU_PR_HELPER_DATA_SIZE >> 8);
    cdb[8] = (unsigned char)(QEMU_PR_HELPER_DATA_SIZE & 0xff);
    hdr->cmdp = cdb;
    int r = real(fd, request, arg);
    hdr->cmdp = orig;
    return r;
}
