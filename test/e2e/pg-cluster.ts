// The tests' PostgreSQL replication cluster is the lab's (src/lab/pg-cluster.ts).
export { PG_USER, startPgCluster, type PgAddress, type PgCluster, type PgNode } from '../../src/lab/pg-cluster.js';
