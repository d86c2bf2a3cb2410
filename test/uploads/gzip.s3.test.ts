import { runGzipUploads } from './gzip.suite';

runGzipUploads('s3');
