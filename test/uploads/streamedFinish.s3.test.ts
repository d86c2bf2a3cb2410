import { runStreamedFinish } from './streamedFinish.suite';

runStreamedFinish('s3');
