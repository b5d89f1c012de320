/*
 * store_faults.c: the fault-injecting SQLite VFS shim of store_faults.h: every file
 * method forwards to the default VFS's file, after asking the control file whether this
 * kind of call must fail now.
 */
#include "cluster/store_faults.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef LG_FAULT_INJECTION

#include <sqlite3.h>

#define SHIM_NAME "lg_faults"

enum { F_WRITE = 1, F_FULL = 2, F_SYNC = 4, F_READ = 8 };

static const struct {
    const char *word;
    int flag;
} words[] = { { "write", F_WRITE }, { "full", F_FULL }, { "sync", F_SYNC }, { "read", F_READ } };

static const char *control;  /* the control file's path */
static sqlite3_vfs *real_vfs; /* the default VFS underneath */
static sqlite3_vfs shim;
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* The faults the control file asks for now. */
static int faults_now(void)
{
    char buf[128];
    int fd = open(control, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return 0;
    buf[n] = '\0';
    int f = 0;
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strstr(buf, words[i].word)) f |= words[i].flag;
    return f;
}

typedef struct shim_file {
    sqlite3_file base;
    sqlite3_file *real; /* follows this struct in the same allocation */
} shim_file;

#define REAL(f) (((shim_file *)(f))->real)

static int s_close(sqlite3_file *f)
{
    return REAL(f)->pMethods ? REAL(f)->pMethods->xClose(REAL(f)) : SQLITE_OK;
}

static int s_read(sqlite3_file *f, void *buf, int n, sqlite3_int64 off)
{
    if (faults_now() & F_READ) return SQLITE_IOERR_READ;
    return REAL(f)->pMethods->xRead(REAL(f), buf, n, off);
}

static int s_write(sqlite3_file *f, const void *buf, int n, sqlite3_int64 off)
{
    int fl = faults_now();
    if (fl & F_FULL) return SQLITE_FULL;
    if (fl & F_WRITE) return SQLITE_IOERR_WRITE;
    return REAL(f)->pMethods->xWrite(REAL(f), buf, n, off);
}

static int s_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    return REAL(f)->pMethods->xTruncate(REAL(f), size);
}

static int s_sync(sqlite3_file *f, int flags)
{
    if (faults_now() & F_SYNC) return SQLITE_IOERR_FSYNC;
    return REAL(f)->pMethods->xSync(REAL(f), flags);
}

static int s_size(sqlite3_file *f, sqlite3_int64 *size)
{
    return REAL(f)->pMethods->xFileSize(REAL(f), size);
}

static int s_lock(sqlite3_file *f, int l)
{
    return REAL(f)->pMethods->xLock(REAL(f), l);
}

static int s_unlock(sqlite3_file *f, int l)
{
    return REAL(f)->pMethods->xUnlock(REAL(f), l);
}

static int s_check(sqlite3_file *f, int *out)
{
    return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}

static int s_control(sqlite3_file *f, int op, void *arg)
{
    return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}

static int s_sector(sqlite3_file *f)
{
    return REAL(f)->pMethods->xSectorSize(REAL(f));
}

static int s_caps(sqlite3_file *f)
{
    return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}

static int s_shm_map(sqlite3_file *f, int pg, int sz, int extend, void volatile **p)
{
    return REAL(f)->pMethods->xShmMap(REAL(f), pg, sz, extend, p);
}

static int s_shm_lock(sqlite3_file *f, int off, int n, int flags)
{
    return REAL(f)->pMethods->xShmLock(REAL(f), off, n, flags);
}

static void s_shm_barrier(sqlite3_file *f)
{
    REAL(f)->pMethods->xShmBarrier(REAL(f));
}

static int s_shm_unmap(sqlite3_file *f, int del)
{
    return REAL(f)->pMethods->xShmUnmap(REAL(f), del);
}

static int s_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **p)
{
    *p = NULL; /* no memory-mapped reads: every read goes through s_read */
    (void)f, (void)off, (void)n;
    return SQLITE_OK;
}

static int s_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
    (void)f, (void)off, (void)p;
    return SQLITE_OK;
}

static const sqlite3_io_methods methods = {
    3,        s_close,  s_read,    s_write,   s_truncate,    s_sync,        s_size,   s_lock,    s_unlock,
    s_check,  s_control, s_sector, s_caps,    s_shm_map,     s_shm_lock,    s_shm_barrier, s_shm_unmap,
    s_fetch,  s_unfetch,
};

static int s_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out_flags)
{
    shim_file *sf = (shim_file *)f;
    (void)vfs;
    sf->real = (sqlite3_file *)(sf + 1);
    memset(sf->real, 0, (size_t)real_vfs->szOsFile);
    int rc = real_vfs->xOpen(real_vfs, name, sf->real, flags, out_flags);
    sf->base.pMethods = rc == SQLITE_OK ? &methods : NULL;
    return rc;
}

static int s_delete(sqlite3_vfs *v, const char *n, int sync)
{
    (void)v;
    return real_vfs->xDelete(real_vfs, n, sync);
}

static int s_access(sqlite3_vfs *v, const char *n, int flags, int *out)
{
    (void)v;
    return real_vfs->xAccess(real_vfs, n, flags, out);
}

static int s_full(sqlite3_vfs *v, const char *n, int len, char *out)
{
    (void)v;
    return real_vfs->xFullPathname(real_vfs, n, len, out);
}

static int s_random(sqlite3_vfs *v, int n, char *out)
{
    (void)v;
    return real_vfs->xRandomness(real_vfs, n, out);
}

static int s_sleep(sqlite3_vfs *v, int us)
{
    (void)v;
    return real_vfs->xSleep(real_vfs, us);
}

static int s_time(sqlite3_vfs *v, double *out)
{
    (void)v;
    return real_vfs->xCurrentTime(real_vfs, out);
}

static int s_last_error(sqlite3_vfs *v, int n, char *out)
{
    (void)v;
    return real_vfs->xGetLastError ? real_vfs->xGetLastError(real_vfs, n, out) : 0;
}

static void install(void)
{
    control = getenv("LEGACYGPU_STORE_FAULTS");
    if (!control || !*control) return;
    real_vfs = sqlite3_vfs_find(NULL);
    if (!real_vfs) return;
    shim.iVersion = 1;
    shim.szOsFile = (int)sizeof(shim_file) + real_vfs->szOsFile;
    shim.mxPathname = real_vfs->mxPathname;
    shim.zName = SHIM_NAME;
    shim.xOpen = s_open;
    shim.xDelete = s_delete;
    shim.xAccess = s_access;
    shim.xFullPathname = s_full;
    shim.xRandomness = s_random;
    shim.xSleep = s_sleep;
    shim.xCurrentTime = s_time;
    shim.xGetLastError = s_last_error;
    if (sqlite3_vfs_register(&shim, 0) != SQLITE_OK) real_vfs = NULL;
}

const char *lg_store_faults_vfs(void)
{
    pthread_once(&once, install);
    return real_vfs ? SHIM_NAME : NULL;
}

#else

const char *lg_store_faults_vfs(void)
{
    return NULL;
}

#endif
