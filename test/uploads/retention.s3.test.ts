import { runRetention } from './retention.suite';

runRetention('s3');
