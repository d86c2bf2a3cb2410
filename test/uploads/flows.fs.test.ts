import { runUploadFlows } from './flows.suite';

runUploadFlows('fs');
