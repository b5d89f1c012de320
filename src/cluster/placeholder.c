/* placeholder.c: keeps the cluster library non-empty until its sources land. */
int lg_cluster_placeholder_(void);
int lg_cluster_placeholder_(void) { return 0; }
