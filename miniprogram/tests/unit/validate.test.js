const validate = require('../../utils/validate')

const TODAY = '2026-03-01'

function withCheck(first17) {
  return first17 + validate.checkDigit(first17)
}

test('the GB 11643 check digit', () => {
  // The standard's own example.
  expect(validate.checkDigit('11010519491231002')).toBe('X')
  expect(validate.idNumberError('11010519491231002X', TODAY)).toBeNull()
  expect(validate.idNumberError('11010519491231002x', TODAY)).toBeNull() // lower-case x is accepted
})

test('ID number errors, in the order the server checks them', () => {
  expect(validate.idNumberError('', TODAY)).toBe('请输入身份证号')
  expect(validate.idNumberError('1101051949123100', TODAY)).toBe('身份证号应为18位')
  expect(validate.idNumberError('1101051949123100AX', TODAY)).toBe('身份证号只能包含数字，最后一位可为X')
  expect(validate.idNumberError(withCheck('99010519491231002'), TODAY)).toBe('身份证号地区码无效')
  expect(validate.idNumberError(withCheck('11010519490231002'), TODAY)).toBe('身份证号出生日期无效') // 2月31日
  expect(validate.idNumberError(withCheck('11010520260302002'), TODAY)).toBe('身份证号出生日期无效') // future
  expect(validate.idNumberError(withCheck('11010518991231002'), TODAY)).toBe('身份证号出生日期无效') // before 1900
  expect(validate.idNumberError(withCheck('11010520260301002'), TODAY)).toBeNull() // born today
  expect(validate.idNumberError('110105194912310021', TODAY)).toBe('身份证号校验码不正确')
})

test('phone numbers are mainland mobiles', () => {
  expect(validate.phoneError('13812345678')).toBeNull()
  expect(validate.phoneError(' 19912345678 ')).toBeNull()
  expect(validate.phoneError('')).toBe('请输入手机号')
  expect(validate.phoneError('12812345678')).toBe('请输入正确的11位手机号')
  expect(validate.phoneError('1381234567')).toBe('请输入正确的11位手机号')
  expect(validate.phoneError('010-12345678')).toBe('请输入正确的11位手机号')
})

test.each([
  ['张三', '张三'],
  ['欧阳娜娜', '欧阳娜娜'],
  ['阿依古丽·买买提', '阿依古丽·买买提'],
  ['阿依古丽.买买提', '阿依古丽·买买提'], // look-alike dots become the middle dot
  ['阿依古丽 • 买买提', '阿依古丽·买买提'],
  ['阿依古丽・买买提', '阿依古丽·买买提'],
  ['John Smith', 'John Smith'],
  ['  John   Smith ', 'John Smith'],
  ['Ｊｏｈｎ Ｓｍｉｔｈ', 'John Smith'], // full-width letters
  ['Zoë Li', 'Zoë Li'],
  ['𠇔三', '𠇔三'], // a rare character outside the basic block counts once
  ['Li', 'Li'],
  ['张'.repeat(30), '张'.repeat(30)],
])('the name %j is valid and normalised as the server stores it', (typed, stored) => {
  expect(validate.nameError(typed)).toBeNull()
  expect(validate.normalizeName(typed)).toBe(stored)
})

test.each([
  'a1',
  '张',
  '张3',
  '张 三', // no space between Chinese characters (as on the server: the typo is shown, not fixed)
  '张 John',
  '张'.repeat(31),
  '𠇔',
  '张三😀',
  '张三!',
  'John-Smith',
  "O'Neil",
  '·张三',
  '张三·',
  '张··三',
])('the name %j is refused with the server\'s words', (name) => {
  expect(validate.nameError(name)).toBe('姓名须为2-30个汉字或字母，可含·')
  expect(validate.NAME_ERROR).toBe('姓名须为2-30个汉字或字母，可含·')
})

test('an empty name asks for one', () => {
  expect(validate.nameError('')).toBe('请输入姓名')
  expect(validate.nameError('   ')).toBe('请输入姓名')
})
