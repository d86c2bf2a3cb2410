import { runChecksumUploads } from './checksum.suite';

runChecksumUploads('fs');
