import { runGzipUploads } from './gzip.suite';

runGzipUploads('fs');
