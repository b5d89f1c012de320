/*
 * store_faults.h: fault injection for the task store, the way SQLite tests itself: an
 * SQLite VFS shim over the default one whose writes, syncs and reads fail on command.
 * It exists only in builds with LG_FAULT_INJECTION (every build but Release) and acts
 * only when the environment variable LEGACYGPU_STORE_FAULTS names a control file. The
 * file's words say what fails now, read again at every I/O call:
 *
 *   write   every write fails (SQLITE_IOERR_WRITE)
 *   full    every write fails as on a full disk (SQLITE_FULL)
 *   sync    every fsync fails (SQLITE_IOERR_FSYNC)
 *   read    every read fails (SQLITE_IOERR_READ)
 *
 * An empty or missing file: nothing fails. Tests write the file while the process runs:
 *
 *   LEGACYGPU_STORE_FAULTS=/tmp/faults legacygpu serve ...   &&   echo full > /tmp/faults
 */
#ifndef LG_CLUSTER_STORE_FAULTS_H
#define LG_CLUSTER_STORE_FAULTS_H

/* The VFS name to open the store with, or NULL for SQLite's default (no injection). */
const char *lg_store_faults_vfs(void);

#endif
