import { runRetention } from './retention.suite';

runRetention('fs');
