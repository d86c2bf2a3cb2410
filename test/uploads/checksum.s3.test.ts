import { runChecksumUploads } from './checksum.suite';

runChecksumUploads('s3');
