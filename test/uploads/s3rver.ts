/** The in-process S3 of the upload suites; it lives in bench/ so that `npm run bench:direct` uses the same one. */
export * from '../../bench/s3rver';
