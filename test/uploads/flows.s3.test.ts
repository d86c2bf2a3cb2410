import { runUploadFlows } from './flows.suite';

runUploadFlows('s3');
