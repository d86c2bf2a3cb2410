import { runUploadRefusals } from './refusals.suite';

runUploadRefusals('s3');
