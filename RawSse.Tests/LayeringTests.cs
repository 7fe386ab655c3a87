using System.Net.Sockets;
using System.Reflection;
using System.Reflection.Emit;
using RawSse.Http;
using RawSse.Transport;

namespace RawSse.Tests;

/// <summary>
/// The layers' promise, checked over the compiled assembly: no type of the SSE or static-file layer (nested and
/// compiler-made types included) uses a connection, the server or a socket, in a signature, a field, a local or an
/// instruction. They get an exchange or a sink instead, and calls go down.
/// </summary>
public sealed class LayeringTests
{
    private static readonly Type[] s_forbidden = [typeof(Socket), typeof(Server), typeof(HttpConnection), typeof(SocketConnection)];

    private static readonly Dictionary<short, OpCode> s_opCodes = typeof(OpCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(field => (OpCode)field.GetValue(null)!)
        .ToDictionary(op => op.Value);

    [TestCase("RawSse.Sse")]
    [TestCase("RawSse.Static")]
    public void Layer_EveryType_UsesNoConnectionServerOrSocket(string layer)
    {
        // Arrange
        var types = typeof(Server).Assembly.GetTypes().Where(t => t.Namespace == layer).ToList();

        // Act
        var offending = types
            .SelectMany(type => ReferencedTypes(type).Where(IsForbidden).Select(used => $"{type.FullName} uses {used.FullName}"))
            .Distinct()
            .ToList();

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(types, Has.Count.GreaterThan(5), $"the layer {layer} has its types");
            Assert.That(offending, Is.Empty, string.Join("\n", offending));
        });
    }

    [Test]
    public void ReferencedTypes_HttpConnection_FindsTheTransportItRunsOn()
    {
        // Arrange: the scanner must see a use that only instructions show (a constructor call in a method body).
        var type = typeof(HttpConnection);

        // Act
        var used = ReferencedTypes(type).ToHashSet();

        // Assert
        Assert.That(used, Does.Contain(typeof(SocketConnection)).And.Contain(typeof(Socket)));
    }

    private static bool IsForbidden(Type type) => s_forbidden.Any(forbidden => forbidden.IsAssignableFrom(type));

    // Every type a type names: its base and interfaces, fields, signatures, locals, and the members its IL calls,
    // reads or constructs, generic arguments included.
    private static IEnumerable<Type> ReferencedTypes(Type type)
    {
        const BindingFlags All = BindingFlags.DeclaredOnly | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static;
        var found = new HashSet<Type>();
        Add(found, type.BaseType);
        foreach (var i in type.GetInterfaces())
        {
            Add(found, i);
        }

        foreach (var field in type.GetFields(All))
        {
            Add(found, field.FieldType);
        }

        var methods = type.GetMethods(All).Cast<MethodBase>().Concat(type.GetConstructors(All));
        foreach (var method in methods)
        {
            if (method is MethodInfo info)
            {
                Add(found, info.ReturnType);
            }

            foreach (var parameter in method.GetParameters())
            {
                Add(found, parameter.ParameterType);
            }

            var body = method.GetMethodBody();
            if (body is null)
            {
                continue;
            }

            foreach (var local in body.LocalVariables)
            {
                Add(found, local.LocalType);
            }

            foreach (var member in MembersInIl(method, body.GetILAsByteArray() ?? []))
            {
                switch (member)
                {
                    case Type t:
                        Add(found, t);
                        break;
                    case FieldInfo f:
                        Add(found, f.DeclaringType);
                        Add(found, f.FieldType);
                        break;
                    case MethodBase m:
                        Add(found, m.DeclaringType);
                        if (m is MethodInfo mi)
                        {
                            Add(found, mi.ReturnType);
                        }

                        foreach (var p in m.GetParameters())
                        {
                            Add(found, p.ParameterType);
                        }

                        break;
                }
            }
        }

        foreach (var nested in type.GetNestedTypes(All))
        {
            found.UnionWith(ReferencedTypes(nested));
        }

        return found;
    }

    private static void Add(HashSet<Type> found, Type? type)
    {
        while (type is { HasElementType: true })
        {
            type = type.GetElementType();
        }

        if (type is null || !found.Add(type))
        {
            return;
        }

        if (type.IsGenericType)
        {
            foreach (var argument in type.GetGenericArguments())
            {
                Add(found, argument);
            }
        }
    }

    // Decodes the instruction stream and resolves every metadata token an instruction carries.
    private static IEnumerable<MemberInfo> MembersInIl(MethodBase method, byte[] il)
    {
        var typeArguments = method.DeclaringType is { IsGenericType: true } d ? d.GetGenericArguments() : null;
        var methodArguments = method.IsGenericMethod ? method.GetGenericArguments() : null;
        int i = 0;
        while (i < il.Length)
        {
            short code = il[i] == 0xFE ? (short)(0xFE00 | il[i + 1]) : il[i];
            i += il[i] == 0xFE ? 2 : 1;
            var op = s_opCodes[code];
            if (op.OperandType is OperandType.InlineMethod or OperandType.InlineField or OperandType.InlineType or OperandType.InlineTok)
            {
                yield return method.Module.ResolveMember(BitConverter.ToInt32(il, i), typeArguments, methodArguments)!;
            }

            i += op.OperandType switch
            {
                OperandType.InlineNone => 0,
                OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar => 1,
                OperandType.InlineVar => 2,
                OperandType.InlineI8 or OperandType.InlineR => 8,
                OperandType.InlineSwitch => 4 + (4 * BitConverter.ToInt32(il, i)),
                _ => 4,
            };
        }
    }
}
