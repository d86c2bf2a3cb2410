import { AiContext, AiHistoryEntry, AiPrompt, ChatMessage, ChatSession } from './AiData';
import { ApiToken } from './ApiToken';
import { ApiWrite } from './ApiWrite';
import { AuditLog, BatchReject, BatchRow, RowJournal } from './Bookkeeping';
import { BrowserEntry } from './BrowserEntry';
import { ContentItem } from './ContentItem';
import { ContentType } from './ContentType';
import { DeploymentConfig } from './DeploymentConfig';
import { DeploymentHistory } from './DeploymentHistory';
import { DirectUpload } from './DirectUpload';
import { DumpEntryRecord } from './DumpEntryRecord';
import { EntrySlice } from './EntrySlice';
import { MigrationBatch } from './MigrationBatch';
import { MigrationPhase } from './MigrationPhase';
import { PreservedEntry } from './PreservedEntry';
import { UserPreferences } from './UserPreferences';
import { Website } from './Website';
import { WebsiteAsset, WebsiteComponent, WebsitePage, WebsiteTemplate } from './WebsiteStorage';

export * from './AiData';
export * from './ApiToken';
export * from './ApiWrite';
export * from './Bookkeeping';
export * from './BrowserEntry';
export * from './ContentItem';
export * from './ContentType';
export * from './DeploymentConfig';
export * from './DeploymentHistory';
export * from './DirectUpload';
export * from './DumpEntryRecord';
export * from './EntrySlice';
export * from './MigratedRow';
export * from './MigrationBatch';
export * from './MigrationPhase';
export * from './PreservedEntry';
export * from './UserPreferences';
export * from './Website';
export * from './WebsiteStorage';

export const ENTITIES = [
  ApiToken, MigrationBatch, MigrationPhase, DumpEntryRecord, RowJournal, BatchRow, BatchReject, AuditLog, ApiWrite,
  Website, ContentType, ContentItem, UserPreferences, DeploymentConfig, DeploymentHistory,
  WebsitePage, WebsiteComponent, WebsiteTemplate, WebsiteAsset,
  AiContext, AiHistoryEntry, ChatSession, ChatMessage, AiPrompt, PreservedEntry, DirectUpload, BrowserEntry, EntrySlice,
];
