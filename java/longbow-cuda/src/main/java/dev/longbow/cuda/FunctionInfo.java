package dev.longbow.cuda;

/** A loaded kernel's resource use as the driver reports it (cuFuncGetAttribute). */
public record FunctionInfo(String name, int registers, int staticSharedBytes, int localBytes, int maxThreadsPerBlock) {}
