declare module 'mime-db' {
  interface MimeEntry {
    source?: 'iana' | 'apache' | 'nginx';
    extensions?: string[];
    compressible?: boolean;
    charset?: string;
  }
  const db: Record<string, MimeEntry>;
  export default db;
}
